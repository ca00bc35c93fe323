//! "Remember this browser for 30 days" (ACC-4): after a factor, the browser may keep a
//! sealed token that lets the next sign-ins from it skip the factor step. The token is
//! bound to the account (the envelope's context names the user) and to the account's
//! *browser generation*: "forget all browsers", adding or removing a method bumps the
//! generation, and every token issued before stops working at once. It never counts as
//! a recent factor for sensitive actions, and agencies asking for AAL2 or IAL2 do not
//! accept it (MFA-7).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::Clock;
use crate::envelope::Envelope;
use crate::keys::EncryptionContext;
use crate::store::{Expect, Key, Store, StoreError, StoreResult, Update};

/// 30 days (ACC-4).
pub const REMEMBER_SECS: i64 = 30 * 24 * 3600;

/// The factor kind a session records when a remembered browser stood in for a factor.
pub const REMEMBERED: &str = "remembered_browser";

/// The sealed token is at most this long in the cookie; anything longer is not ours.
const MAX_COOKIE_CHARS: usize = 2048;

#[derive(Debug, Clone)]
pub struct RememberedBrowsers {
    store: Arc<dyn Store>,
    envelope: Arc<Envelope>,
    clock: Arc<dyn Clock>,
}

fn account_key(user_id: &str) -> Key {
    Key::new(format!("USER#{user_id}"), "ACCOUNT")
}

fn context(user_id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "remember-browser")
        .with("user", user_id)
}

impl RememberedBrowsers {
    pub fn new(store: Arc<dyn Store>, envelope: Arc<Envelope>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            envelope,
            clock,
        }
    }

    async fn generation(&self, user_id: &str) -> StoreResult<Option<i64>> {
        Ok(self
            .store
            .get(&account_key(user_id))
            .await?
            .map(|a| a.num("remember_gen").unwrap_or(0)))
    }

    /// A cookie value remembering this browser for `user_id`, for 30 days.
    pub async fn issue(&self, user_id: &str) -> Result<Option<String>, RememberError> {
        let Some(generation) = self.generation(user_id).await? else {
            return Ok(None);
        };
        let mut plain = Vec::with_capacity(16);
        plain.extend_from_slice(&self.clock.now_ms().to_be_bytes());
        plain.extend_from_slice(&generation.to_be_bytes());
        let sealed = self
            .envelope
            .seal(&context(user_id), "remember", &plain)
            .await?;
        Ok(Some(URL_SAFE_NO_PAD.encode(sealed)))
    }

    /// Whether `cookie` remembers this browser for `user_id`: sealed for this account,
    /// younger than 30 days, and of the account's current generation.
    pub async fn accepts(&self, user_id: &str, cookie: &str) -> Result<bool, RememberError> {
        if cookie.len() > MAX_COOKIE_CHARS {
            return Ok(false);
        }
        let Ok(sealed) = URL_SAFE_NO_PAD.decode(cookie) else {
            return Ok(false);
        };
        // Sealed for another account, tampered with, or not ours: simply not remembered.
        let Ok(plain) = self
            .envelope
            .open(&context(user_id), "remember", &sealed)
            .await
        else {
            return Ok(false);
        };
        let (Some(issued), Some(generation)) = (
            plain
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes),
            plain
                .get(8..16)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes),
        ) else {
            return Ok(false);
        };
        let now = self.clock.now_ms();
        if now < issued || now - issued >= REMEMBER_SECS * 1000 {
            return Ok(false);
        }
        Ok(self.generation(user_id).await? == Some(generation))
    }

    /// Forgets every browser remembered for `user_id`.
    pub async fn forget_all(&self, user_id: &str) -> Result<(), RememberError> {
        match self
            .store
            .update(
                Update::new(account_key(user_id)).add("remember_gen", 1),
                Expect::Present,
            )
            .await
        {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RememberError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealing(#[from] crate::envelope::EnvelopeError),
}
