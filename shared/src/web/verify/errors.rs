//! What the verification pages cannot answer themselves becomes a [`WebError`]: wrong
//! passwords, codes and keys are messages on their pages first; limits are the 429 page;
//! the rest is "unavailable" or "internal", logged without PII (the domain errors carry
//! none).

use crate::idv::duplicates::DuplicateError;
use crate::idv::error::IdvError;
use crate::idv::jobs::JobError;
use crate::idv::letter::LetterError;
use crate::keys::KeyError;
use crate::web::error::WebError;

impl From<IdvError> for WebError {
    fn from(e: IdvError) -> Self {
        match e {
            IdvError::TooManyTries { retry_after_secs } => {
                WebError::TooManyRequests { retry_after_secs }
            }
            IdvError::Store(e) => e.into(),
            IdvError::RateLimit(e) => e.into(),
            IdvError::Conflict => WebError::Unavailable("identity: conflict".into()),
            // A key service that is throttled or down is a retry later (503); refused
            // access or a malformed value is ours to fix (500).
            IdvError::Sealing(e) => e.into(),
            IdvError::Hash(e) => e.into(),
            other => WebError::Internal(format!("identity: {other}")),
        }
    }
}

impl From<JobError> for WebError {
    fn from(e: JobError) -> Self {
        match e {
            JobError::Store(e) => e.into(),
            JobError::Queue(e) => WebError::Unavailable(format!("proofing queue: {e}")),
            JobError::Sealing(e) => e.into(),
            other => WebError::Internal(format!("proofing job: {other}")),
        }
    }
}

impl From<LetterError> for WebError {
    fn from(e: LetterError) -> Self {
        match e {
            LetterError::TooMany { retry_after_secs } => {
                WebError::TooManyRequests { retry_after_secs }
            }
            LetterError::Store(e) => e.into(),
            LetterError::RateLimit(e) => e.into(),
            LetterError::Identity(e) => e.into(),
            LetterError::Conflict => WebError::Unavailable("letter: conflict".into()),
            other => WebError::Internal(format!("letter: {other}")),
        }
    }
}

impl From<DuplicateError> for WebError {
    fn from(e: DuplicateError) -> Self {
        match e {
            DuplicateError::Store(e) => e.into(),
            // The key service makes the fingerprints: throttled or down is a retry later.
            DuplicateError::Keys(e @ (KeyError::Throttled | KeyError::Unavailable(_))) => {
                WebError::Unavailable(format!("duplicates: {e}"))
            }
            other => WebError::Internal(format!("duplicates: {other}")),
        }
    }
}
