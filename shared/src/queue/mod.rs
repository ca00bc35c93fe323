//! The queue port: at-least-once delivery with a visibility timeout and a dead-letter
//! queue, as SQS does it. A message that is not deleted comes back; one received too
//! many times moves to the dead-letter queue.

pub mod consumer;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "aws")]
pub mod sqs;

use std::time::Duration;

use async_trait::async_trait;

/// SQS's limits, kept everywhere.
pub const MAX_BATCH: u32 = 10;
pub const MAX_DELAY: Duration = Duration::from_secs(900);
pub const MAX_WAIT: Duration = Duration::from_secs(20);
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    /// Names this delivery; deleting needs it.
    pub receipt: String,
    pub body: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("invalid queue request: {0}")]
    Invalid(String),
    #[error("the queue is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Which adapter this is, for `/api/health`.
    fn adapter(&self) -> &'static str;

    /// Enqueues `body` (at most 256 KiB), visible after `delay` (at most 15 min).
    async fn send(&self, body: &str, delay: Duration) -> Result<String, QueueError>;

    /// Up to `max` (1..=10) visible messages, hidden from other consumers for
    /// `visibility`; waits up to `wait` (at most 20 s) when none is visible.
    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>, QueueError>;

    /// Removes a received message for good.
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;
}

pub(crate) fn validate_send(body: &str, delay: Duration) -> Result<(), QueueError> {
    if body.is_empty() || body.len() > MAX_BODY_BYTES {
        return Err(QueueError::Invalid("a body holds 1 byte to 256 KiB".into()));
    }
    if delay > MAX_DELAY {
        return Err(QueueError::Invalid("a delay is at most 15 minutes".into()));
    }
    Ok(())
}

pub(crate) fn validate_receive(max: u32, wait: Duration) -> Result<(), QueueError> {
    if max == 0 || max > MAX_BATCH {
        return Err(QueueError::Invalid("receive 1 to 10 messages".into()));
    }
    if wait > MAX_WAIT {
        return Err(QueueError::Invalid("wait at most 20 seconds".into()));
    }
    Ok(())
}
