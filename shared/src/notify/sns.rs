//! SMS through Amazon SNS, sent as transactional messages (higher delivery priority,
//! which one-time codes need). SNS cannot place voice calls.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::MessageAttributeValue;

use super::{Channel, NotifyError, Sms, SmsSender, validate_sms};

#[derive(Debug, Clone)]
pub struct SnsSms {
    client: Client,
    sender_id: Option<String>,
}

impl SnsSms {
    /// `sender_id` is the alphanumeric sender shown where the destination country
    /// allows one.
    pub fn new(client: Client, sender_id: Option<&str>) -> Self {
        Self {
            client,
            sender_id: sender_id.map(str::to_owned),
        }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, NotifyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| NotifyError::Unavailable(format!("building an SNS request: {e}")))
}

/// Only the error code is kept: SNS messages can quote the phone number.
fn sns_error<E, R>(e: SdkError<E, R>) -> NotifyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(code @ ("InvalidParameter" | "InvalidParameterValue")) => {
            NotifyError::Refused(format!("SNS refused the message ({code})"))
        }
        Some(code) => NotifyError::Unavailable(format!("SNS: {code}")),
        None => NotifyError::Unavailable(DisplayErrorContext(&e).to_string()),
    }
}

#[async_trait]
impl SmsSender for SnsSms {
    fn adapter(&self) -> &'static str {
        "aws-sns"
    }

    async fn send(&self, sms: &Sms) -> Result<(), NotifyError> {
        validate_sms(sms)?;
        if sms.channel == Channel::Voice {
            // Voice needs AWS End User Messaging (pinpoint-sms-voice-v2) and a voice
            // origination identity, neither of which this deployment has.
            return Err(NotifyError::NotConfigured(
                "voice calls need AWS End User Messaging, not set up",
            ));
        }
        let mut request = self
            .client
            .publish()
            .phone_number(&sms.to)
            .message(&sms.body)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(sender) = &self.sender_id {
            request = request.message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender)?);
        }
        request.send().await.map_err(sns_error)?;
        Ok(())
    }
}
