//! The mail and SMS ports: what leaves Passerelle to reach a person. Locally an outbox
//! keeps every message for `/dev/outbox`; in AWS, SES sends mail and SNS sends SMS.

pub mod job;
#[cfg(feature = "embedded")]
pub mod outbox;
#[cfg(feature = "aws")]
pub mod ses;
#[cfg(feature = "aws")]
pub mod sns;

use async_trait::async_trait;

/// An email in both forms: every message is sent as HTML and plain text.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

// Addresses and bodies are personal data: keep them out of logs.
impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email").finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Text,
    Voice,
}

/// A one-time message to a phone, by text or by a voice call reading it out.
#[derive(Clone, PartialEq, Eq)]
pub struct Sms {
    /// E.164, e.g. `+33612345678`.
    pub to: String,
    pub body: String,
    pub channel: Channel,
}

impl std::fmt::Debug for Sms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sms")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The message cannot be sent as it is (bad address, empty body): do not retry.
    #[error("the message was refused: {0}")]
    Refused(String),
    /// The channel is not set up in this deployment (for example voice without a
    /// voice origination identity).
    #[error("this channel is not configured: {0}")]
    NotConfigured(&'static str),
    /// The provider failed; retry later. The detail is for logs only.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    fn adapter(&self) -> &'static str;
    async fn send(&self, email: &Email) -> Result<(), NotifyError>;
}

#[async_trait]
pub trait SmsSender: Send + Sync + std::fmt::Debug {
    fn adapter(&self) -> &'static str;
    async fn send(&self, sms: &Sms) -> Result<(), NotifyError>;
}

/// A plausible E.164 number: `+`, then 8 to 15 digits, the first not 0. Full validation
/// (per-country plans) belongs to the phone factor; this guards the port.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The shape of an address: one `@`, something before it, a dotted domain after it.
pub fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && address.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.contains(char::is_whitespace)
        && !domain.contains('@')
}

pub(crate) fn validate_email(email: &Email) -> Result<(), NotifyError> {
    if !is_email(&email.to) {
        return Err(NotifyError::Refused(
            "the recipient is not an email address".into(),
        ));
    }
    if email.subject.trim().is_empty() || email.text.trim().is_empty() {
        return Err(NotifyError::Refused(
            "a message needs a subject and a text body".into(),
        ));
    }
    Ok(())
}

pub(crate) fn validate_sms(sms: &Sms) -> Result<(), NotifyError> {
    if !is_e164(&sms.to) {
        return Err(NotifyError::Refused(
            "the recipient is not an E.164 number".into(),
        ));
    }
    if sms.body.trim().is_empty() || sms.body.chars().count() > 1600 {
        return Err(NotifyError::Refused(
            "a message holds 1 to 1600 characters".into(),
        ));
    }
    Ok(())
}
