//! Mail through Amazon SES v2: every message goes out as HTML with a plain-text
//! alternative, UTF-8 throughout.

use std::borrow::Borrow;

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use super::{Email, Mailer, NotifyError, validate_email};

const CHARSET: &str = "UTF-8";

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
}

impl SesMailer {
    /// `from` is a verified identity, optionally with a display name:
    /// `Passerelle <no-reply@example.gouv.fr>`.
    pub fn new(client: Client, from: &str) -> Self {
        Self {
            client,
            from: from.to_owned(),
        }
    }

    /// Creates the sender's email identity, which SES (and moto) require before sending.
    /// For tests and development: production identities are set up by the infrastructure,
    /// with DKIM on the domain. Takes a client or a reference to one.
    pub async fn verify_sender(client: impl Borrow<Client>, from: &str) -> Result<(), NotifyError> {
        let result = client
            .borrow()
            .create_email_identity()
            .email_identity(address_of(from))
            .send()
            .await;
        match result {
            Err(e) if e.code() != Some("AlreadyExistsException") => Err(ses_error(e)),
            _ => Ok(()),
        }
    }
}

/// The bare address of `Name <address>`.
fn address_of(from: &str) -> &str {
    match (from.rfind('<'), from.strip_suffix('>')) {
        (Some(start), Some(rest)) if start < rest.len() => rest[start + 1..].trim(),
        _ => from.trim(),
    }
}

fn content(data: &str) -> Result<Content, NotifyError> {
    Content::builder()
        .data(data)
        .charset(CHARSET)
        .build()
        .map_err(build_error)
}

fn build_error(e: BuildError) -> NotifyError {
    NotifyError::Unavailable(format!("building an SES request: {e}"))
}

/// Only the error code is kept: SES messages can quote addresses, which are personal data.
fn ses_error<E, R>(e: SdkError<E, R>) -> NotifyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(code @ ("BadRequestException" | "MessageRejected")) => {
            NotifyError::Refused(format!("SES refused the message ({code})"))
        }
        Some(code) => NotifyError::Unavailable(format!("SES: {code}")),
        None => NotifyError::Unavailable(DisplayErrorContext(&e).to_string()),
    }
}

#[async_trait]
impl Mailer for SesMailer {
    fn adapter(&self) -> &'static str {
        "aws-ses"
    }

    async fn send(&self, email: &Email) -> Result<(), NotifyError> {
        validate_email(email)?;
        let body = Body::builder()
            .text(content(&email.text)?)
            .html(content(&email.html)?)
            .build();
        let message = Message::builder()
            .subject(content(&email.subject)?)
            .body(body)
            .build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&email.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(ses_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_address_is_found_inside_a_display_name() {
        assert_eq!(address_of("Passerelle <a@b.fr>"), "a@b.fr");
        assert_eq!(address_of("a@b.fr"), "a@b.fr");
        assert_eq!(address_of(" a@b.fr "), "a@b.fr");
    }
}
