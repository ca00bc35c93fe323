//! Keyed fingerprints of personal identifiers (email addresses, phone numbers, rate limit
//! subjects): lookups and uniqueness work on HMAC-SHA256 values, so the table never needs
//! an identifier in clear, and a stolen table cannot be searched by guessing without the
//! key. The key is made once per deployment, sealed by the key service, and kept in the
//! store, so whoever holds the table *and* the key service's unwrap holds it: identifiers
//! with few values that must resist that too (SSNs, name + ZIP + birth year) are
//! fingerprinted by the key service's own MAC instead ([`crate::keys::KeyService::mac`],
//! `idv/duplicates.rs`); each use derives its own subkey, so fingerprints of one kind cannot be
//! linked to another. Two secrets of the deployment are subkeys of it too: pairwise
//! subjects (`pairwise`) and the daily keys that seal authorization codes
//! (`oidc-code/<day>`, [`crate::oidc::codes`]).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::envelope::{Envelope, EnvelopeError};
use crate::keys::{EncryptionContext, SecretKey};
use crate::random::{Random, RandomExt};
use crate::store::{Expect, Item, Key, Store, StoreError};

const RECORD: &str = "CONFIG#fingerprint-key";

#[derive(Debug, thiserror::Error)]
pub enum FingerprintError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealing(#[from] EnvelopeError),
    #[error("the stored fingerprint key is malformed")]
    Malformed,
}

/// The deployment's fingerprint root key.
#[derive(Debug, Clone)]
pub struct Fingerprints {
    root: SecretKey,
}

fn key() -> Key {
    Key::new("CONFIG", "FINGERPRINT_KEY")
}

fn context() -> EncryptionContext {
    EncryptionContext::new().with("purpose", "fingerprint-key")
}

fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    for part in parts {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl Fingerprints {
    pub fn from_key(root: SecretKey) -> Self {
        Self { root }
    }

    /// Loads the deployment's key, creating it on first use. Two processes racing to
    /// create it agree: the loser reads the winner's.
    pub async fn load_or_create(
        store: &dyn Store,
        envelope: &Envelope,
        random: &dyn Random,
    ) -> Result<Self, FingerprintError> {
        for _ in 0..2 {
            if let Some(item) = store.get(&key()).await? {
                let sealed = item.bytes("sealed").ok_or(FingerprintError::Malformed)?;
                let plain = envelope.open(&context(), RECORD, sealed).await?;
                let root = SecretKey::from_slice(&plain).ok_or(FingerprintError::Malformed)?;
                return Ok(Self { root });
            }
            let fresh = random.array::<32>();
            let sealed = envelope.seal(&context(), RECORD, &fresh).await?;
            match store
                .put(Item::new(key()).with("sealed", sealed), Expect::Absent)
                .await
            {
                Ok(_) => return Ok(Self::from_key(SecretKey::from_bytes(fresh))),
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(FingerprintError::Malformed)
    }

    /// The subkey for one kind of identifier (`"email"`, `"phone"`, `"ratelimit"` …) or one
    /// use (`"pairwise"`, `"oidc-code/<day>"`).
    pub fn subkey(&self, purpose: &str) -> SecretKey {
        SecretKey::from_bytes(mac(
            self.root.expose(),
            &[b"passerelle/fingerprint/v1", purpose.as_bytes()],
        ))
    }

    /// The fingerprint of `value` (already normalised) for `purpose`, base64url.
    pub fn of(&self, purpose: &str, value: &str) -> String {
        let sub = self.subkey(purpose);
        URL_SAFE_NO_PAD.encode(mac(sub.expose(), &[value.as_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_keyed_and_separated_by_purpose() {
        let a = Fingerprints::from_key(SecretKey::from_bytes([1; 32]));
        let b = Fingerprints::from_key(SecretKey::from_bytes([2; 32]));
        assert_eq!(
            a.of("email", "jane@example.gov"),
            a.of("email", "jane@example.gov")
        );
        assert_ne!(
            a.of("email", "jane@example.gov"),
            b.of("email", "jane@example.gov")
        );
        assert_ne!(
            a.of("email", "jane@example.gov"),
            a.of("phone", "jane@example.gov")
        );
        assert_eq!(a.of("email", "x").len(), 43);
        assert!(!a.of("email", "jane@example.gov").contains("jane"));
    }
}
