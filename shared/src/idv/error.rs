//! What can go wrong while sealing, opening or changing a verified identity. Messages
//! say what the person (or operator) can do next, and never carry PII or a secret.

use crate::account::password_hash::PasswordHashError;
use crate::envelope::EnvelopeError;
use crate::ratelimit::RateLimitError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IdvError {
    /// The password does not open the identity or is not the account's password.
    #[error("the password is not right; enter the password you sign in with")]
    WrongPassword,
    /// The personal key does not open the identity (mistyped, or replaced by a newer one).
    #[error("the personal key is not right; check it and try again")]
    WrongPersonalKey,
    /// IDV-5: too many personal-key tries.
    #[error("too many tries; wait {retry_after_secs} seconds and try again")]
    TooManyTries { retry_after_secs: u64 },
    #[error("this account has no verified identity; verify your identity first")]
    NoProfile,
    /// Activation when the account already holds a live (pending or active) identity.
    #[error("this account already has a verified identity")]
    AlreadyVerified,
    /// The password copy was dropped by a password reset: only the personal key opens it.
    #[error("the verified identity is deactivated; enter your personal key to restore it")]
    Deactivated,
    /// The account or its identity changed between the read and the write; nothing was
    /// written.
    #[error("the account changed meanwhile; try again")]
    Conflict,
    #[error("the account does not exist")]
    NoAccount,
    /// Not a sealed identity of a known format: tampering or a bug.
    #[error("the sealed identity is malformed or of an unknown format")]
    Malformed,
    /// The key derivation's parameters are refused by argon2 (a configuration error).
    #[error("the key derivation parameters are invalid; check the argon2 settings")]
    Params,
    #[error(transparent)]
    Hash(#[from] PasswordHashError),
    #[error(transparent)]
    Sealing(#[from] EnvelopeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The rate limiter's store failed (a block is [`IdvError::TooManyTries`]).
    #[error(transparent)]
    RateLimit(RateLimitError),
}

impl From<RateLimitError> for IdvError {
    fn from(e: RateLimitError) -> Self {
        match e {
            RateLimitError::Blocked { retry_after_secs } => {
                IdvError::TooManyTries { retry_after_secs }
            }
            other => IdvError::RateLimit(other),
        }
    }
}
