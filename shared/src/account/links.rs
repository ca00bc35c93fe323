//! Links sent by email (confirm an address, reset a password, "this wasn't me", account
//! reset): a 256-bit random token in the URL, of which the store keeps only the SHA-256,
//! with an expiry. Using a link deletes it with an `Expect::Present` condition in the same
//! transaction as the change it authorises, so a link works once, even when clicked twice
//! at the same moment.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::random::{Random, RandomExt, is_token};
use crate::store::{Item, Key};

/// What a link does, and how long it lives (product.md figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// ACC-1: 24 hours.
    ConfirmSignup,
    /// Adding an address on the account page: 24 hours.
    ConfirmEmail,
    /// ACC-5: 30 minutes.
    ResetPassword,
    /// ACC-8: 10 days.
    NotMe,
    /// ACC-7: cancel an account reset, for as long as the reset can run (48 hours).
    AccountResetCancel,
    /// ACC-7: delete the account, 24 hours.
    AccountResetDelete,
}

impl LinkKind {
    pub fn tag(self) -> &'static str {
        match self {
            LinkKind::ConfirmSignup => "CONFIRM_SIGNUP",
            LinkKind::ConfirmEmail => "CONFIRM_EMAIL",
            LinkKind::ResetPassword => "RESET_PASSWORD",
            LinkKind::NotMe => "NOT_ME",
            LinkKind::AccountResetCancel => "ACCOUNT_RESET_CANCEL",
            LinkKind::AccountResetDelete => "ACCOUNT_RESET_DELETE",
        }
    }

    pub fn ttl_secs(self) -> i64 {
        const HOUR: i64 = 3600;
        match self {
            LinkKind::ConfirmSignup | LinkKind::ConfirmEmail | LinkKind::AccountResetDelete => {
                24 * HOUR
            }
            LinkKind::ResetPassword => HOUR / 2,
            LinkKind::NotMe => 240 * HOUR,
            LinkKind::AccountResetCancel => 48 * HOUR,
        }
    }
}

/// The secret part of a link. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken(Zeroizing<String>);

impl std::fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkToken([redacted])")
    }
}

impl LinkToken {
    pub fn new(random: &dyn Random) -> Self {
        Self(Zeroizing::new(random.token(32)))
    }

    /// A token from a URL; anything that is not 43 base64url characters is no link.
    pub fn parse(text: &str) -> Option<Self> {
        is_token(text, 32).then(|| Self(Zeroizing::new(text.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the link's item lives: only the token's hash names it.
    pub fn key(&self, kind: LinkKind) -> Key {
        let hash = URL_SAFE_NO_PAD.encode(Sha256::digest(self.0.as_bytes()));
        Key::new(format!("LINK#{hash}"), kind.tag())
    }

    /// A fresh link item of `kind`, expiring by its kind's lifetime from `now_secs`.
    pub fn item(&self, kind: LinkKind, now_secs: i64) -> Item {
        Item::new(self.key(kind)).expiring_at(now_secs + kind.ttl_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn links_are_stored_by_hash_and_expire_by_kind() {
        let token = LinkToken::new(&OsRandom);
        let item = token.item(LinkKind::ResetPassword, 1000);
        assert_eq!(item.expires_at, Some(1000 + 1800));
        assert!(!item.key.pk.contains(token.as_str()));
        assert_ne!(
            token.key(LinkKind::ResetPassword),
            token.key(LinkKind::NotMe)
        );
        assert_eq!(LinkKind::NotMe.ttl_secs(), 10 * 24 * 3600);
        assert_eq!(LinkKind::ConfirmSignup.ttl_secs(), 24 * 3600);
        assert!(LinkToken::parse(token.as_str()).is_some());
        assert!(LinkToken::parse("../../etc/passwd").is_none());
        assert!(!format!("{token:?}").contains(token.as_str()));
    }
}
