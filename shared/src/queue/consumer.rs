//! Consuming a queue: one handler per kind of job, driven either by the local stack's
//! polling loop or by Lambda's SQS event source (see `lambda`), with the same outcome
//! rules: done or dropped messages are deleted, retried ones come back later and land in
//! the dead-letter queue when they keep failing.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;
use tracing::Instrument;

use super::Queue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Leave it on the queue: it comes back after the visibility timeout.
    Retry,
    /// It can never succeed; delete it (the handler has logged why).
    Drop,
}

#[async_trait]
pub trait JobHandler: Send + Sync + std::fmt::Debug {
    /// What the job is, for logs.
    fn name(&self) -> &'static str;
    async fn handle(&self, message_id: &str, body: &str) -> Outcome;

    /// [`JobHandler::handle`] with the delivery's receive count (1 on the first), for
    /// handlers that act on their last attempt before the dead-letter queue. The default
    /// ignores the count.
    async fn handle_delivery(&self, message_id: &str, body: &str, receive_count: u32) -> Outcome {
        let _ = receive_count;
        self.handle(message_id, body).await
    }
}

/// How long a received message stays hidden while a handler works on it.
pub const VISIBILITY: Duration = Duration::from_secs(30);

/// How long one receive waits for a message: also the longest a stop waits for the
/// receive under way.
pub const RECEIVE_WAIT: Duration = Duration::from_secs(1);

/// Polls until `shutdown` turns true; deletes what is done or dropped. A stop lets the
/// receive under way end and handles every message it brought: those messages are this
/// consumer's until their visibility timeout, so cutting the receive short would not
/// leave them on the queue but hide them for [`VISIBILITY`] and count a receive against
/// their dead-letter limit (the embedded queue claims them in a transaction that commits
/// whether or not anyone awaits it; SQS has already sent them).
pub async fn consume(
    queue: Arc<dyn Queue>,
    handler: Arc<dyn JobHandler>,
    shutdown: watch::Receiver<bool>,
) {
    let wait = RECEIVE_WAIT;
    while !*shutdown.borrow() {
        let batch = queue.receive(10, VISIBILITY, wait).await;
        let messages = match batch {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(job = handler.name(), error = %e, "queue receive failed");
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        for message in messages {
            // `.instrument`, never `span.enter()` held across an await: an entered guard
            // stays on this worker thread's span stack while the task is parked, so a
            // request served meanwhile on that thread would take the message span as its
            // parent, and once the message span closed, cloning it panicked in
            // tracing-subscriber (a dropped connection). `shared/tests/consumer_spans.rs`
            // reproduces it.
            let span = tracing::info_span!("message", id = %message.id, job = handler.name());
            let outcome = handler
                .handle_delivery(&message.id, &message.body, message.receive_count)
                .instrument(span.clone())
                .await;
            match outcome {
                Outcome::Done | Outcome::Drop => {
                    if let Err(e) = queue
                        .delete(&message.receipt)
                        .instrument(span.clone())
                        .await
                    {
                        tracing::warn!(parent: &span, error = %e, "could not delete a handled message");
                    }
                }
                Outcome::Retry => {}
            }
        }
    }
}

#[async_trait]
impl JobHandler for crate::notify::job::Deliverer {
    fn name(&self) -> &'static str {
        "notify"
    }

    async fn handle(&self, message_id: &str, body: &str) -> Outcome {
        match self.deliver(body).await {
            Ok(job) => {
                tracing::info!(message = message_id, job = %job, "delivered");
                Outcome::Done
            }
            Err(e) if e.is_retryable() => {
                tracing::warn!(message = message_id, error = %e, "delivery failed; will retry");
                Outcome::Retry
            }
            // A refusal is never dropped: the person is waiting for this code or notice,
            // and only an operator can fix the cause (an unverified sender, the SMS
            // sandbox, a suppressed address). Left on the queue, it reaches the
            // dead-letter queue after its last receive, which alarms; `refused` feeds the
            // `NotifyRefused` metric, and the reason names the provider's error code only
            // (never the address, which stays sealed in the job).
            Err(e) => {
                tracing::warn!(
                    message = message_id,
                    refused = true,
                    reason = %e,
                    "the provider refused the message; kept for the dead-letter queue"
                );
                Outcome::Retry
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::queue::{Message, QueueError};

    /// A queue whose one message arrives only after the stop was asked, as a receive under
    /// way does when the stop comes in the middle of it.
    #[derive(Debug)]
    struct LateQueue {
        stop: watch::Receiver<bool>,
        /// Told when a receive is under way.
        receiving: tokio::sync::Notify,
        given: Mutex<bool>,
        deleted: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Queue for LateQueue {
        fn adapter(&self) -> &'static str {
            "late"
        }
        async fn send(&self, _: &str, _: Duration) -> Result<String, QueueError> {
            Err(QueueError::Invalid("not in this test".into()))
        }
        async fn receive(
            &self,
            _: u32,
            _: Duration,
            _: Duration,
        ) -> Result<Vec<Message>, QueueError> {
            self.receiving.notify_one();
            let mut stop = self.stop.clone();
            let _ = stop.wait_for(|s| *s).await;
            // The claim commits a moment after the stop was seen.
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut given = self.given.lock().unwrap();
            if std::mem::replace(&mut *given, true) {
                return Ok(vec![]);
            }
            Ok(vec![Message {
                id: "m-1".into(),
                receipt: "r-1".into(),
                body: "a mail".into(),
                receive_count: 1,
            }])
        }
        async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
            self.deleted.lock().unwrap().push(receipt.to_owned());
            Ok(())
        }
    }

    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    #[async_trait]
    impl JobHandler for Recorder {
        fn name(&self) -> &'static str {
            "recorder"
        }
        async fn handle(&self, message_id: &str, _: &str) -> Outcome {
            self.0.lock().unwrap().push(message_id.to_owned());
            Outcome::Done
        }
    }

    #[tokio::test]
    async fn a_stop_during_a_receive_handles_what_it_brought_instead_of_hiding_it() {
        // Given a consumer whose receive is under way when the stop is asked
        let (stop, stopped) = watch::channel(false);
        let queue = Arc::new(LateQueue {
            stop: stopped.clone(),
            receiving: tokio::sync::Notify::new(),
            given: Mutex::new(false),
            deleted: Mutex::new(vec![]),
        });
        let handler = Arc::new(Recorder::default());
        let consumer = tokio::spawn(consume(
            Arc::clone(&queue) as Arc<dyn Queue>,
            Arc::clone(&handler) as Arc<dyn JobHandler>,
            stopped,
        ));
        queue.receiving.notified().await;
        // When the stop is asked and the receive then brings a message
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), consumer)
            .await
            .expect("the consumer stops")
            .unwrap();
        // Then the consumer handled it and deleted it before stopping: it is neither lost
        // nor hidden until its visibility timeout with a receive counted against it
        assert_eq!(*handler.0.lock().unwrap(), vec!["m-1".to_owned()]);
        assert_eq!(*queue.deleted.lock().unwrap(), vec!["r-1".to_owned()]);
    }
}
