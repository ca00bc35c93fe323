//! Second factors (MFA-1 … MFA-4, MFA-6): security keys and face or touch unlock,
//! authentication apps, phones and backup codes, over the store port, with no HTTP types,
//! so every front end applies the same rules.
//!
//! - [`factors`]: the account's methods — list, rename, remove (never the last one) —
//!   and the one transaction that adds any method and activates a factor-pending account.
//! - [`totp`]: RFC 6238 codes and the authentication-app flows (MFA-2).
//! - [`phone`]: E.164 numbers, one-time codes by SMS or voice (MFA-3).
//! - [`backup_codes`]: ten single-use Crockford codes, stored as keyed hashes (MFA-4).
//! - `webauthn` (feature `webauthn`, which `web` enables): security keys and face or
//!   touch unlock through webauthn-rs, ceremonies kept server-side and used once (MFA-1).
//! - [`qr`]: the enrolment QR code as a plain SVG.
//!
//! Rate limits (OTP sends, MFA failures of MFA-6) are the caller's job, with
//! [`crate::ratelimit`]: this module only says whether a code was right.
//!
//! Items, all in the account's partition `USER#<id>`:
//!
//! | `sk` | Holds | Lives |
//! | --- | --- | --- |
//! | `FACTOR#<id>` | `kind`, `name`, `created_ms`, `last_used_ms`; apps: sealed `secret`, `last_step`; phones: sealed `number`, `fp`, `masked`, `delivery`; backup codes: `remaining`; WebAuthn: `attachment` (`security_key`, `platform`), `cred_fp`, `credential` (webauthn-rs JSON: id, public key, counter, transports), `counter` | until removed |
//! | `FACTORS` | `count` of methods, and one count per kind (`totp`, `phone`, `backup_codes`, `webauthn`) | with the account |
//! | `PENDING_TOTP#<id>` | sealed `enrollment` (secret, then label) | 10 min |
//! | `OTP#<id>` | `purpose` (`enrol`, `sign_in`), keyed hash `code`, `attempts`; set-up: sealed `number`, `fp`, `masked`, `delivery`; sign-in: `factor` | 10 min, or until right or out of tries |
//! | `PHONE#<fp>` | `factor`: the account's claim on a number | with the phone |
//! | `BACKUP#<hash>` | `factor`: one unused backup code | until used or replaced |
//! | `WEBAUTHN_CRED#<fp>` | `factor`: the account's claim on a credential id (SHA-256, base64url) | with the method |
//! | `WEBAUTHN_CEREMONY#<id>` | `purpose` (`register`, `sign_in`), sealed webauthn-rs `state`; registration: `name`, `attachment` | 5 min, or until its answer comes (a conditional delete) |
//!
//! Secrets, numbers and ceremony states are sealed with the context
//! `{purpose: totp|phone|webauthn, user}` and their item's key as record; codes and
//! fingerprints are HMAC-SHA256 under the `mfa` fingerprint subkey. Adding a method writes its item, the counters (under the kind's
//! limit), the account's `status = active` and a `factor_added` event in one transaction.

pub mod backup_codes;
pub mod factors;
pub mod phone;
pub mod qr;
pub mod totp;
#[cfg(feature = "webauthn")]
pub mod webauthn;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub use backup_codes::BackupCodes;
pub use factors::{FactorKind, FactorSummary, Factors};
pub use phone::{PhoneChallenge, PhoneDelivery, PhoneNumber};
pub use totp::TotpEnrollment;
#[cfg(feature = "webauthn")]
pub use webauthn::{Attachment, RelyingParty, WebAuthnChallenge};

use crate::envelope::EnvelopeError;
use crate::store::StoreError;

/// How long an app enrolment or a phone code lives (MFA-3: 10 minutes).
pub const CODE_LIFETIME_SECS: i64 = 10 * 60;

/// Wrong tries one phone code survives; the account-wide MFA_FAILURES limit of the
/// caller is the main guard, this one holds even if a caller forgets it.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// Longest name of a method, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// The code does not match (enrolment steps; sign-in verifications answer `None`).
    #[error("the code is not right")]
    WrongCode,
    /// The app enrolment or phone confirmation is older than 10 minutes, already used,
    /// or out of tries: start again.
    #[error("the enrolment has expired; start again")]
    EnrollmentExpired,
    /// A sign-in phone code is older than 10 minutes, already used, or out of tries.
    #[error("the code has expired; ask for a new one")]
    CodeExpired,
    #[error("an account may have at most 2 authentication apps")]
    TooManyApps,
    #[error("an account may have at most 5 phones")]
    TooManyPhones,
    #[error("the phone number is not valid")]
    PhoneInvalid,
    /// This account already has this number.
    #[error("this phone number is already set up on the account")]
    PhoneTaken,
    /// Empty, longer than 40 characters, or with control characters.
    #[error("the name must be 1 to 40 characters")]
    NameInvalid,
    #[error("the last second factor cannot be removed")]
    LastFactor,
    /// No such method (or enrolment) on this account.
    #[error("no such second factor")]
    NotFound,
    /// Concurrent changes kept winning; the caller may ask to try again.
    #[error("the second factors changed meanwhile; try again")]
    Contended,
    /// A stored item lacks what its kind needs: a bug or tampering.
    #[error("a stored second factor is malformed")]
    Malformed,
    /// A WebAuthn ceremony is over 5 minutes old, was already used, or never existed.
    #[error("the security key request has expired or was already used; start again")]
    WebAuthnExpired,
    /// The browser's answer to a registration does not hold up (wrong origin, challenge
    /// or signature, or not an answer at all).
    #[error("the security key's answer was not accepted; try again or choose another method")]
    WebAuthnRejected,
    /// This authenticator is already one of the account's methods.
    #[error("this security key or device is already set up on the account; use another one")]
    WebAuthnAlreadyRegistered,
    /// The public URL cannot be a WebAuthn relying party (an IP address, not a URL).
    #[error("WebAuthn is not available for this address: {0}")]
    WebAuthnConfig(String),
    #[error("the QR code could not be drawn: {0}")]
    Qr(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealing(#[from] EnvelopeError),
}

/// HMAC-SHA256 of length-prefixed parts, so that no two part lists collide.
pub(crate) fn keyed_mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    for part in parts {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// A method's name as kept: trimmed, 1 to 40 characters, no control characters.
pub fn valid_name(name: &str) -> Result<String, MfaError> {
    let trimmed = name.trim();
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(MfaError::NameInvalid);
    }
    Ok(trimmed.to_owned())
}

/// A code as typed, without the spaces and hyphens people put in it.
pub(crate) fn compact(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(valid_name("  Work phone ").unwrap(), "Work phone");
        assert_eq!(valid_name(&"é".repeat(40)).unwrap(), "é".repeat(40));
        assert!(matches!(valid_name("   "), Err(MfaError::NameInvalid)));
        assert!(matches!(
            valid_name(&"a".repeat(41)),
            Err(MfaError::NameInvalid)
        ));
        assert!(matches!(valid_name("a\u{7}b"), Err(MfaError::NameInvalid)));
    }

    #[test]
    fn keyed_macs_separate_their_parts() {
        assert_ne!(
            keyed_mac(b"k", &[b"ab", b"c"]),
            keyed_mac(b"k", &[b"a", b"bc"])
        );
        assert_ne!(keyed_mac(b"k", &[b"a"]), keyed_mac(b"l", &[b"a"]));
    }
}
