//! The key service on AWS KMS: data keys generated and unwrapped under one KMS key, each
//! bound to its encryption context (which KMS also writes to CloudTrail), and MACs made
//! by `GenerateMac` (HMAC-SHA-256) under a second, HMAC_256 key: its key material never
//! leaves KMS, and every MAC is one request, counted against the account's quota and
//! written to CloudTrail.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, MacAlgorithmSpec};
use zeroize::Zeroizing;

use super::{DataKey, EncryptionContext, KeyError, KeyService, MacPurpose, SecretKey, mac_message};

#[derive(Debug, Clone)]
pub struct KmsKeyService {
    client: Client,
    key_id: String,
    mac_key_id: String,
}

impl KmsKeyService {
    /// `key_id` is what new data keys are generated under, `mac_key_id` the HMAC_256 key
    /// (usage GENERATE_VERIFY_MAC) that makes MACs: each a key id, ARN or alias.
    pub fn new(client: Client, key_id: &str, mac_key_id: &str) -> Self {
        Self {
            client,
            key_id: key_id.to_owned(),
            mac_key_id: mac_key_id.to_owned(),
        }
    }
}

/// KMS refuses an empty context map on some paths; no context is the same thing.
fn context_map(context: &EncryptionContext) -> Option<HashMap<String, String>> {
    let map: HashMap<String, String> = context
        .pairs()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    (!map.is_empty()).then_some(map)
}

/// Moves a plaintext key out of the SDK's buffer into a [`SecretKey`], wiping the
/// intermediate copy.
fn secret(plaintext: Option<Blob>) -> Option<SecretKey> {
    let bytes = Zeroizing::new(plaintext?.into_inner());
    SecretKey::from_slice(&bytes)
}

fn kms_error<E, R>(e: SdkError<E, R>) -> KeyError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        // Wrong key, wrong context or damaged ciphertext all look alike to KMS callers,
        // and to ours: the wrapped key cannot be trusted.
        Some("InvalidCiphertextException" | "IncorrectKeyException" | "NotFoundException") => {
            KeyError::Rejected
        }
        Some("ThrottlingException" | "LimitExceededException") => KeyError::Throttled,
        // The role, the key's state or the credentials: retrying does not help.
        Some(
            code @ ("AccessDeniedException"
            | "DisabledException"
            | "KMSInvalidStateException"
            | "InvalidKeyUsageException"
            | "InvalidGrantTokenException"
            | "UnrecognizedClientException"
            | "ExpiredTokenException"),
        ) => KeyError::Failed(format!("{code}: {}", e.message().unwrap_or("no detail"))),
        // KMSInternalException, DependencyTimeoutException, KeyUnavailableException …
        Some(code) => {
            KeyError::Unavailable(format!("{code}: {}", e.message().unwrap_or("no detail")))
        }
        // No answer at all: a timeout, a dispatch failure, a lost connection.
        None => KeyError::Unavailable(DisplayErrorContext(&e).to_string()),
    }
}

#[async_trait]
impl KeyService for KmsKeyService {
    fn adapter(&self) -> &'static str {
        "aws-kms"
    }

    async fn generate_data_key(&self, context: &EncryptionContext) -> Result<DataKey, KeyError> {
        let mut out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(context_map(context))
            .send()
            .await
            .map_err(kms_error)?;
        let plaintext = secret(out.plaintext.take())
            .ok_or_else(|| KeyError::Failed("KMS returned no 256-bit plaintext key".into()))?;
        let wrapped = out
            .ciphertext_blob
            .take()
            .map(Blob::into_inner)
            .ok_or_else(|| KeyError::Failed("KMS returned no wrapped key".into()))?;
        // The ARN, not the alias or id we were configured with, so that unwrapping keeps
        // working after an alias moves to a new key.
        let key_id = out
            .key_id
            .take()
            .ok_or_else(|| KeyError::Failed("KMS returned no key id".into()))?;
        Ok(DataKey {
            key_id,
            plaintext,
            wrapped,
        })
    }

    async fn decrypt_data_key(
        &self,
        key_id: &str,
        wrapped: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretKey, KeyError> {
        if key_id.is_empty() || wrapped.is_empty() {
            return Err(KeyError::Rejected);
        }
        let mut out = self
            .client
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(Blob::new(wrapped))
            .set_encryption_context(context_map(context))
            .send()
            .await
            .map_err(kms_error)?;
        secret(out.plaintext.take()).ok_or(KeyError::Rejected)
    }

    async fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Result<[u8; 32], KeyError> {
        let message = mac_message(purpose, data).ok_or(KeyError::TooLong)?;
        let out = self
            .client
            .generate_mac()
            .key_id(&self.mac_key_id)
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .message(Blob::new(message.to_vec()))
            .send()
            .await
            .map_err(|e| match kms_error(e) {
                // A missing key, or one that is not an HMAC key: the configuration.
                KeyError::Rejected => KeyError::Failed(format!(
                    "the MAC key {} (PASSERELLE_KMS_MAC_KEY_ID) is missing or not an HMAC_256 key",
                    self.mac_key_id
                )),
                other => other,
            })?;
        out.mac
            .map(Blob::into_inner)
            .and_then(|m| <[u8; 32]>::try_from(m.as_slice()).ok())
            .ok_or_else(|| KeyError::Failed("KMS returned no 32-byte MAC".into()))
    }
}
