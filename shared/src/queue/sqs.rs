//! The queue on Amazon SQS. The dead-letter queue is the queue's own redrive policy, set by
//! the infrastructure; SQS moves a message there after `maxReceiveCount` receives.

use std::borrow::Borrow;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use super::{Message, Queue, QueueError, validate_receive, validate_send};

/// SQS's longest visibility timeout: 12 hours.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: &str) -> Self {
        Self {
            client,
            queue_url: queue_url.to_owned(),
        }
    }

    pub fn url(&self) -> &str {
        &self.queue_url
    }

    /// Creates `name` and `name-dlq`, the first redriving to the second after
    /// `max_receives` receives, as the infrastructure does. For tests and local trials;
    /// takes a client or a reference to one.
    pub async fn create_with_dead_letter(
        client: impl Borrow<Client>,
        name: &str,
        max_receives: u32,
    ) -> Result<(SqsQueue, SqsQueue), QueueError> {
        if max_receives == 0 {
            return Err(QueueError::Invalid("max_receives is at least 1".into()));
        }
        let client = client.borrow();
        let dlq_url = client
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .map_err(sqs_error)?
            .queue_url
            .ok_or_else(|| QueueError::Unavailable("SQS returned no queue URL".into()))?;
        let dlq_arn = client
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(sqs_error)?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| QueueError::Unavailable("SQS returned no queue ARN".into()))?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": max_receives.to_string(),
        });
        let main_url = client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .map_err(sqs_error)?
            .queue_url
            .ok_or_else(|| QueueError::Unavailable("SQS returned no queue URL".into()))?;
        Ok((
            SqsQueue::new(client.clone(), &main_url),
            SqsQueue::new(client.clone(), &dlq_url),
        ))
    }
}

/// SQS counts in whole seconds. Rounding up keeps a short visibility or delay from
/// becoming none at all.
fn whole_secs(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

fn sqs_error<E, R>(e: SdkError<E, R>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(
            code @ ("ReceiptHandleIsInvalid" | "InvalidParameterValue" | "InvalidMessageContents"),
        ) => QueueError::Invalid(code.to_owned()),
        // Message bodies never appear in SQS error messages; the code and message are
        // safe for logs.
        Some(code) => {
            QueueError::Unavailable(format!("{code}: {}", e.message().unwrap_or("no detail")))
        }
        None => QueueError::Unavailable(DisplayErrorContext(&e).to_string()),
    }
}

#[async_trait]
impl Queue for SqsQueue {
    fn adapter(&self) -> &'static str {
        "aws-sqs"
    }

    async fn send(&self, body: &str, delay: Duration) -> Result<String, QueueError> {
        validate_send(body, delay)?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(whole_secs(delay))
            .send()
            .await
            .map_err(sqs_error)?
            .message_id
            .ok_or_else(|| QueueError::Unavailable("SQS returned no message id".into()))
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        validate_receive(max, wait)?;
        if visibility > MAX_VISIBILITY {
            return Err(QueueError::Invalid(
                "a visibility timeout is at most 12 hours".into(),
            ));
        }
        let out = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(i32::try_from(max).unwrap_or(1))
            .visibility_timeout(whole_secs(visibility))
            .wait_time_seconds(whole_secs(wait))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(sqs_error)?;
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let missing =
                    |what: &str| QueueError::Unavailable(format!("SQS returned no {what}"));
                Ok(Message {
                    id: m.message_id.ok_or_else(|| missing("message id"))?,
                    receipt: m.receipt_handle.ok_or_else(|| missing("receipt handle"))?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect()
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(sqs_error)?;
        Ok(())
    }
}
