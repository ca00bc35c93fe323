//! The key service port: data keys generated and unwrapped under a root key that never
//! leaves the service (KMS in AWS, a local key file when embedded), each bound to an
//! encryption context.

#[cfg(feature = "aws")]
pub mod kms;
#[cfg(feature = "embedded")]
pub mod local;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Names what a data key protects, e.g. `{"purpose": "pii", "user": "u-123"}`. Unwrapping
/// with a different context fails. Values are not secret (KMS logs them), so never PII.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EncryptionContext(BTreeMap<String, String>);

impl EncryptionContext {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// An unambiguous byte encoding (length-prefixed, sorted), for associated data.
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in &self.0 {
            for part in [k, v] {
                out.extend_from_slice(&(part.len() as u32).to_be_bytes());
                out.extend_from_slice(part.as_bytes());
            }
        }
        out
    }
}

/// A 256-bit secret key. Wiped on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// A fresh data key: the plaintext to use now and the wrapped form to store.
#[derive(Debug, Clone)]
pub struct DataKey {
    /// The root key that wrapped it, as the service names it.
    pub key_id: String,
    pub plaintext: SecretKey,
    pub wrapped: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The wrapped key, its key id or its context do not match: tampering or a bug.
    #[error("the data key could not be unwrapped with this context")]
    Rejected,
    #[error("the key service is throttling requests")]
    Throttled,
    /// The service failed; the detail is for logs only.
    #[error("the key service is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait KeyService: Send + Sync + fmt::Debug {
    /// Which adapter this is, for `/api/health`.
    fn adapter(&self) -> &'static str;

    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<DataKey, KeyError>;

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretKey, KeyError>;
}
