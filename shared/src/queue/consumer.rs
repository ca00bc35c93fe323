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

/// Polls until `shutdown` turns true; deletes what is done or dropped.
pub async fn consume(
    queue: Arc<dyn Queue>,
    handler: Arc<dyn JobHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let wait = Duration::from_secs(1);
    while !*shutdown.borrow() {
        let batch = tokio::select! {
            r = queue.receive(10, VISIBILITY, wait) => r,
            _ = shutdown.changed() => break,
        };
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
