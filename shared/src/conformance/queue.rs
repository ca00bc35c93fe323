//! The queue suite: delivery, deletion, redelivery after the visibility timeout, delays,
//! and the move to the dead-letter queue after too many receives.

use std::collections::HashSet;
use std::time::Duration;

use super::{Harness, unique};
use crate::queue::{Queue, QueueError};

const VISIBILITY: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(3);

/// Receives until `n` messages arrived or `WAIT` passed with nothing new.
async fn receive_n(queue: &dyn Queue, n: usize) -> Vec<crate::queue::Message> {
    let mut got = Vec::new();
    while got.len() < n {
        let batch = queue
            .receive(10, Duration::from_secs(30), WAIT)
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        got.extend(batch);
    }
    got
}

pub async fn a_deleted_message_is_delivered_once(h: &dyn Harness) {
    let (queue, _) = h.queue_with_dead_letter(5).await;
    let body = unique("job");
    queue.send(&body, Duration::ZERO).await.unwrap();
    let got = queue.receive(10, VISIBILITY, WAIT).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].body.as_str(), got[0].receive_count),
        (body.as_str(), 1)
    );
    queue.delete(&got[0].receipt).await.unwrap();
    tokio::time::sleep(VISIBILITY + Duration::from_millis(200)).await;
    assert!(
        queue
            .receive(10, VISIBILITY, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn many_messages_each_arrive(h: &dyn Harness) {
    let (queue, _) = h.queue_with_dead_letter(5).await;
    let bodies: HashSet<String> = (0..25).map(|i| format!("{}-{i}", unique("m"))).collect();
    for b in &bodies {
        queue.send(b, Duration::ZERO).await.unwrap();
    }
    let got = receive_n(queue.as_ref(), bodies.len()).await;
    let received: HashSet<String> = got.iter().map(|m| m.body.clone()).collect();
    assert_eq!(received, bodies);
    assert_eq!(got.len(), bodies.len(), "no duplicate while invisible");
    for m in got {
        queue.delete(&m.receipt).await.unwrap();
    }
}

pub async fn an_undeleted_message_comes_back(h: &dyn Harness) {
    // The consumer "dies" after receiving: it never deletes.
    let (queue, _) = h.queue_with_dead_letter(5).await;
    let body = unique("job");
    queue.send(&body, Duration::ZERO).await.unwrap();
    let first = queue.receive(1, VISIBILITY, WAIT).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        queue
            .receive(1, VISIBILITY, Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "hidden while being worked on"
    );
    let again = queue.receive(1, VISIBILITY, WAIT).await.unwrap();
    assert_eq!(again.len(), 1, "redelivered after the visibility timeout");
    assert_eq!(
        (again[0].body.as_str(), again[0].receive_count),
        (body.as_str(), 2)
    );
    queue.delete(&again[0].receipt).await.unwrap();
}

pub async fn repeated_failures_land_in_the_dead_letter_queue(h: &dyn Harness) {
    let (queue, dlq) = h.queue_with_dead_letter(2).await;
    let body = unique("poison");
    queue.send(&body, Duration::ZERO).await.unwrap();
    for attempt in 1..=2 {
        let got = queue.receive(1, VISIBILITY, WAIT).await.unwrap();
        assert_eq!(got.len(), 1, "attempt {attempt}");
        assert_eq!(got[0].receive_count, attempt);
    }
    tokio::time::sleep(VISIBILITY + Duration::from_millis(200)).await;
    assert!(
        queue
            .receive(1, VISIBILITY, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "moved out after 2 receives"
    );
    let dead = dlq.receive(1, VISIBILITY, WAIT).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, body);
}

pub async fn a_delayed_message_waits(h: &dyn Harness) {
    let (queue, _) = h.queue_with_dead_letter(5).await;
    let body = unique("later");
    queue.send(&body, Duration::from_secs(2)).await.unwrap();
    assert!(
        queue
            .receive(1, VISIBILITY, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let got = queue
        .receive(1, VISIBILITY, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, body);
}

pub async fn invalid_requests_are_refused(h: &dyn Harness) {
    let (queue, _) = h.queue_with_dead_letter(5).await;
    assert!(matches!(
        queue.send("", Duration::ZERO).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        queue.send("x", Duration::from_secs(901)).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        queue.receive(11, VISIBILITY, Duration::ZERO).await,
        Err(QueueError::Invalid(_))
    ));
    assert!(matches!(
        queue.receive(1, VISIBILITY, Duration::from_secs(21)).await,
        Err(QueueError::Invalid(_))
    ));
}
