//! Outgoing mail and SMS as queue jobs: the page enqueues, a worker delivers. Job bodies
//! hold addresses and codes, so they travel sealed (envelope bound to the job id) and the
//! queue never sees them in clear.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::{Channel, Email, Mailer, NotifyError, Sms, SmsSender};
use crate::envelope::{Envelope, EnvelopeError};
use crate::keys::EncryptionContext;
use crate::queue::{Queue, QueueError};
use crate::random::{Random, RandomExt};

/// What a worker delivers.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Outgoing {
    Email {
        to: String,
        subject: String,
        text: String,
        html: String,
    },
    Sms {
        to: String,
        body: String,
        channel: Channel,
    },
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outgoing::Email { .. } => "Outgoing::Email(..)",
            Outgoing::Sms { .. } => "Outgoing::Sms(..)",
        })
    }
}

impl From<Email> for Outgoing {
    fn from(e: Email) -> Self {
        Outgoing::Email {
            to: e.to,
            subject: e.subject,
            text: e.text,
            html: e.html,
        }
    }
}

impl From<Sms> for Outgoing {
    fn from(s: Sms) -> Self {
        Outgoing::Sms {
            to: s.to,
            body: s.body,
            channel: s.channel,
        }
    }
}

/// The queue body: the job id in clear (for logs and idempotence), the rest sealed.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope1 {
    v: u8,
    id: String,
    sealed: String,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The body is not a job this worker can read; keep it for investigation (DLQ).
    #[error("the job is malformed")]
    Malformed,
    #[error("the job could not be unsealed: {0}")]
    Sealing(#[from] EnvelopeError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Notify(#[from] NotifyError),
}

impl JobError {
    /// Whether another attempt could succeed. A refused message will not until an
    /// operator fixes the cause; it still goes to the dead-letter queue, not away.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, JobError::Notify(NotifyError::Refused(_)))
    }
}

fn context() -> EncryptionContext {
    EncryptionContext::new().with("purpose", "notify-job")
}

fn record(id: &str) -> String {
    format!("notify-job:{id}")
}

/// Seals and enqueues a message; returns the job id.
pub async fn enqueue(
    queue: &dyn Queue,
    envelope: &Envelope,
    random: &dyn Random,
    message: &Outgoing,
) -> Result<String, JobError> {
    let (id, body) = seal(envelope, random, message).await?;
    queue.send(&body, std::time::Duration::ZERO).await?;
    Ok(id)
}

/// The queue body for `message`, and its job id.
pub async fn seal(
    envelope: &Envelope,
    random: &dyn Random,
    message: &Outgoing,
) -> Result<(String, String), JobError> {
    let id = random.token(16);
    let json = serde_json::to_vec(message).map_err(|_| JobError::Malformed)?;
    let sealed = envelope.seal(&context(), &record(&id), &json).await?;
    let body = serde_json::to_string(&Envelope1 {
        v: 1,
        id: id.clone(),
        sealed: STANDARD.encode(sealed),
    })
    .map_err(|_| JobError::Malformed)?;
    Ok((id, body))
}

/// Delivers mail and SMS jobs.
#[derive(Debug, Clone)]
pub struct Deliverer {
    pub envelope: std::sync::Arc<Envelope>,
    pub mailer: std::sync::Arc<dyn Mailer>,
    pub sms: std::sync::Arc<dyn SmsSender>,
}

impl Deliverer {
    /// Opens and sends one job body. Returns the job id.
    pub async fn deliver(&self, body: &str) -> Result<String, JobError> {
        let job: Envelope1 = serde_json::from_str(body).map_err(|_| JobError::Malformed)?;
        if job.v != 1 {
            return Err(JobError::Malformed);
        }
        let sealed = STANDARD
            .decode(&job.sealed)
            .map_err(|_| JobError::Malformed)?;
        let json = self
            .envelope
            .open(&context(), &record(&job.id), &sealed)
            .await?;
        let message: Outgoing = serde_json::from_slice(&json).map_err(|_| JobError::Malformed)?;
        match message {
            Outgoing::Email {
                to,
                subject,
                text,
                html,
            } => {
                self.mailer
                    .send(&Email {
                        to,
                        subject,
                        text,
                        html,
                    })
                    .await?
            }
            Outgoing::Sms { to, body, channel } => {
                self.sms.send(&Sms { to, body, channel }).await?
            }
        }
        Ok(job.id)
    }
}
