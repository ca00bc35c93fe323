//! The mail and SMS suite: valid messages reach the adapter's sink, invalid ones are
//! refused before anything is sent, and a refused job is kept for the dead-letter queue.

use std::sync::Arc;
use std::time::Duration;

use super::{Harness, unique};
use crate::clock::SystemClock;
use crate::envelope::{CacheLimits, Envelope};
use crate::notify::job::{Deliverer, Outgoing, enqueue};
use crate::notify::{Channel, Email, NotifyError, Sms};
use crate::queue::consumer::{JobHandler, Outcome};
use crate::random::OsRandom;

fn email(to: &str) -> Email {
    Email {
        to: to.to_owned(),
        subject: "Confirm your email".into(),
        text: "Open https://localhost:3000/confirm?t=abc to confirm.".into(),
        html: "<p>Open <a href=\"https://localhost:3000/confirm?t=abc\">this link</a>.</p>".into(),
    }
}

pub async fn an_email_is_delivered(h: &dyn Harness) {
    let mailer = h.mailer().await;
    let to = format!("{}@example.gov", unique("person"));
    mailer.send(&email(&to)).await.unwrap();
    assert_eq!(h.delivered_to(&to).await, 1);
}

pub async fn a_bad_email_is_refused(h: &dyn Harness) {
    let mailer = h.mailer().await;
    for to in ["not-an-address", "a@b", "two words@example.gov", ""] {
        let r = mailer.send(&email(to)).await;
        assert!(matches!(r, Err(NotifyError::Refused(_))), "{to}: {r:?}");
    }
    let mut no_subject = email("x@example.gov");
    no_subject.subject = " ".into();
    assert!(matches!(
        mailer.send(&no_subject).await,
        Err(NotifyError::Refused(_))
    ));
}

pub async fn a_text_message_is_delivered(h: &dyn Harness) {
    let sms = h.sms().await;
    // A number unique to this run, so the sink count belongs to this case.
    let digits: String = unique("n")
        .bytes()
        .rev()
        .take(6)
        .map(|b| char::from(b'0' + b % 10))
        .collect();
    let to = format!("+3361{digits}");
    sms.send(&Sms {
        to: to.clone(),
        body: "Passerelle: your code is 123456".into(),
        channel: Channel::Text,
    })
    .await
    .unwrap();
    assert_eq!(h.delivered_to(&to).await, 1);
}

pub async fn a_bad_number_is_refused(h: &dyn Harness) {
    let sms = h.sms().await;
    for to in ["0612345678", "+0612345678", "+33 6 12 34 56 78", "+1234"] {
        let r = sms
            .send(&Sms {
                to: to.into(),
                body: "x".into(),
                channel: Channel::Text,
            })
            .await;
        assert!(matches!(r, Err(NotifyError::Refused(_))), "{to}: {r:?}");
    }
}

pub async fn a_refused_job_reaches_the_dead_letter_queue(h: &dyn Harness) {
    // Given a mail job the provider will refuse, on a queue that dead-letters after two
    // receives
    const VISIBILITY: Duration = Duration::from_secs(1);
    let (queue, dlq) = h.queue_with_dead_letter(2).await;
    let envelope = Arc::new(Envelope::new(
        h.keys().await,
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        CacheLimits::default(),
    ));
    let deliverer = Deliverer {
        envelope: Arc::clone(&envelope),
        mailer: h.mailer().await,
        sms: h.sms().await,
    };
    let job = Outgoing::from(email("not-an-address"));
    enqueue(queue.as_ref(), &envelope, &OsRandom, &job)
        .await
        .unwrap();
    // When the worker handles each delivery
    for attempt in 1..=2 {
        let got = queue
            .receive(1, VISIBILITY, Duration::from_secs(3))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "delivery {attempt}");
        let outcome = deliverer
            .handle_delivery(&got[0].id, &got[0].body, got[0].receive_count)
            .await;
        // Then it is never dropped: the message stays for the next delivery
        assert_eq!(outcome, Outcome::Retry, "delivery {attempt}");
    }
    // And after its last receive it is in the dead-letter queue, still sealed
    tokio::time::sleep(VISIBILITY + Duration::from_millis(200)).await;
    assert!(
        queue
            .receive(1, VISIBILITY, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
    let dead = dlq
        .receive(1, VISIBILITY, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1, "the refused job is dead-lettered");
    assert!(
        !dead[0].body.contains("not-an-address"),
        "the job stays sealed"
    );
}
