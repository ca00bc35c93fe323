//! The key service port: data keys generated and unwrapped under a root key that never
//! leaves the service (KMS in AWS, a local key file when embedded), each bound to an
//! encryption context; and MACs under a second key that never leaves it either (a KMS
//! HMAC key, a local `mac-key` file), for the values that must be recomputable from a
//! guessable secret (an SSN, a person's name and birth year, a password's hash): whoever
//! holds every stored value and every data key still needs one audited, rate-limited call
//! of the key service per guess ([`KeyService::mac`]).

#[cfg(feature = "aws")]
pub mod kms;
#[cfg(feature = "embedded")]
pub mod local;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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

/// What a MAC is for. The purpose is inside the MAC's message ([`mac_message`]), so a MAC
/// made for one purpose is no MAC for another, and no two purposes' values can be linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MacPurpose {
    /// The duplicate-detection fingerprint of an SSN (IDV-6).
    IdvSsn,
    /// The duplicate-detection fingerprint of a name + ZIP5 + birth year (IDV-6).
    IdvPerson,
    /// The rate-limit subject of an SSN (IDV-5: the same SSN across accounts).
    IdvSsnLimit,
    /// The password pepper: argon2's output for the password check and for the key that
    /// seals the identity's password copy.
    PepperV1,
    /// Test values of the conformance suites.
    Test,
}

impl MacPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            MacPurpose::IdvSsn => "idv-ssn",
            MacPurpose::IdvPerson => "idv-person",
            MacPurpose::IdvSsnLimit => "idv-ssn-limit",
            MacPurpose::PepperV1 => "pepper-v1",
            MacPurpose::Test => "test",
        }
    }
}

/// The label every MAC message starts with.
const MAC_LABEL: &[u8] = b"passerelle/mac/v1";
/// The longest message KMS `GenerateMac` accepts.
pub const MAC_MESSAGE_MAX: usize = 4096;

/// The message both adapters MAC: a label, the purpose (length-prefixed) and `data`. At
/// most [`MAC_MESSAGE_MAX`] bytes, or `None`.
pub fn mac_message(purpose: MacPurpose, data: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let purpose = purpose.as_str().as_bytes();
    let len = MAC_LABEL.len() + 4 + purpose.len() + data.len();
    if len > MAC_MESSAGE_MAX {
        return None;
    }
    let mut message = Zeroizing::new(Vec::with_capacity(len));
    message.extend_from_slice(MAC_LABEL);
    message.extend_from_slice(&(purpose.len() as u32).to_be_bytes());
    message.extend_from_slice(purpose);
    message.extend_from_slice(data);
    Some(message)
}

/// Several parts as one MAC input, each length-prefixed so that no two lists of parts
/// run together (`["ab", "c"]` is not `["a", "bc"]`).
pub fn mac_parts(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum()));
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The wrapped key, its key id or its context do not match: tampering or a bug.
    #[error("the data key could not be unwrapped with this context")]
    Rejected,
    #[error("the key service is throttling requests")]
    Throttled,
    /// A MAC message longer than [`MAC_MESSAGE_MAX`]: a bug of the caller.
    #[error("the message to MAC is longer than {MAC_MESSAGE_MAX} bytes")]
    TooLong,
    /// The service failed for now (an internal error, a timeout, a lost connection):
    /// retrying later may succeed. The detail is for logs only.
    #[error("the key service is unavailable: {0}")]
    Unavailable(String),
    /// The service refused in a way retrying does not change (access denied, a disabled
    /// or misconfigured key), or answered without what the call needs. The detail is for
    /// logs only.
    #[error("the key service failed: {0}")]
    Failed(String),
}

impl KeyError {
    /// Whether the failure is the key service's momentary state (throttled, timed out,
    /// unavailable): the person is told to retry shortly (503), not that something is
    /// broken (500).
    pub fn is_transient(&self) -> bool {
        matches!(self, KeyError::Throttled | KeyError::Unavailable(_))
    }
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

    /// HMAC-SHA256 of `data` for `purpose`, under the service's MAC key, which never
    /// leaves the service: the same input gives the same MAC for as long as the key
    /// lives, and nothing outside the service can compute one. One call (on AWS, one
    /// `GenerateMac` request, in CloudTrail) per MAC; nothing caches them.
    async fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Result<[u8; 32], KeyError>;

    /// [`KeyService::mac`] of several parts ([`mac_parts`]).
    async fn mac_of(&self, purpose: MacPurpose, parts: &[&[u8]]) -> Result<[u8; 32], KeyError> {
        self.mac(purpose, &mac_parts(parts)).await
    }
}
