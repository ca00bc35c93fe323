//! Envelope encryption: each ciphertext is AES-256-GCM under a data key that the key
//! service wraps. The header names the format version and the root key id, so rotation
//! is a path; the associated data binds the ciphertext to its context and record, so a
//! ciphertext moved elsewhere does not open. A small in-memory cache of unwrapped data
//! keys keeps the key service off the hot path.
//!
//! Format 2 adds the account's key ([`AccountKeys`]) inside: a value sealed for a context
//! that names a `user` is first sealed under a key derived from that account's key, then
//! wrapped as in format 1. Opening it needs both the key service (with the purpose's
//! grant) and the account's key, which deleting the account destroys (crypto-shredding).

mod account_keys;
mod cache;

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::aead;
use crate::clock::Clock;
use crate::keys::{EncryptionContext, KeyError, KeyService, SecretKey};
use crate::random::{Random, RandomExt};

pub use account_keys::AccountKeys;
pub use cache::CacheLimits;
use cache::KeyCache;

/// The key service's wrap alone. A new format gets a new number; old ones stay readable.
pub const FORMAT_V1: u8 = 1;
/// The account's key inside, the key service's wrap outside.
pub const FORMAT_V2: u8 = 2;
const AAD_LABEL: &[u8] = b"passerelle/envelope";
const ACCOUNT_LAYER_LABEL: &[u8] = b"passerelle/envelope/account-layer/v1";

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Not an envelope of a known format.
    #[error("the sealed data is malformed or of an unknown format")]
    Malformed,
    /// Tampered with, or opened with another context or record.
    #[error("the sealed data does not open with this context and record")]
    Rejected,
    #[error(transparent)]
    Keys(KeyError),
    /// The key table could not be read or written.
    #[error("the account key table: {0}")]
    AccountKeys(crate::store::StoreError),
}

impl EnvelopeError {
    /// Whether the key service's or the key table's momentary state caused it ([`KeyError::is_transient`]):
    /// a malformed or rejected envelope stays broken however often it is retried.
    pub fn is_transient(&self) -> bool {
        match self {
            EnvelopeError::Keys(e) => e.is_transient(),
            EnvelopeError::AccountKeys(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl From<KeyError> for EnvelopeError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Rejected => EnvelopeError::Rejected,
            other => EnvelopeError::Keys(other),
        }
    }
}

#[derive(Debug)]
pub struct Envelope {
    keys: Arc<dyn KeyService>,
    random: Arc<dyn Random>,
    cache: KeyCache,
    /// When set, values of an account are sealed in format 2.
    account_keys: Option<Arc<AccountKeys>>,
}

/// The account a context seals for, if any.
fn account_of(context: &EncryptionContext) -> Option<&str> {
    context.pairs().find(|(k, _)| *k == "user").map(|(_, v)| v)
}

/// The key of the account layer for `context`: one per account and context, so a value
/// moved to another context does not open even inside.
fn account_layer_key(account_key: &SecretKey, context: &EncryptionContext) -> Zeroizing<[u8; 32]> {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(account_key.expose())
        .unwrap_or_else(|_| <Hmac<sha2::Sha256> as KeyInit>::new(&Default::default()));
    mac.update(ACCOUNT_LAYER_LABEL);
    mac.update(&context.canonical());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// The parsed header of a sealed value.
struct Header<'a> {
    version: u8,
    key_id: &'a str,
    wrapped: &'a [u8],
    /// Everything before the nonce, authenticated as associated data.
    bytes: &'a [u8],
    nonce: &'a [u8; aead::NONCE_LEN],
    ciphertext: &'a [u8],
}

fn parse(sealed: &[u8]) -> Option<Header<'_>> {
    let (&version, rest) = sealed.split_first()?;
    if version != FORMAT_V1 && version != FORMAT_V2 {
        return None;
    }
    let (&id_len, rest) = rest.split_first()?;
    let (key_id, rest) = rest.split_at_checked(usize::from(id_len))?;
    let key_id = std::str::from_utf8(key_id).ok()?;
    let (len, rest) = rest.split_first_chunk::<2>()?;
    let (wrapped, rest) = rest.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    let header_len = sealed.len() - rest.len();
    let (nonce, ciphertext) = rest.split_first_chunk::<{ aead::NONCE_LEN }>()?;
    if ciphertext.len() < aead::TAG_LEN {
        return None;
    }
    Some(Header {
        version,
        key_id,
        wrapped,
        bytes: &sealed[..header_len],
        nonce,
        ciphertext,
    })
}

fn associated_data(header: &[u8], context: &EncryptionContext, record: &str) -> Vec<u8> {
    let mut aad = AAD_LABEL.to_vec();
    aad.extend_from_slice(header);
    let ctx = context.canonical();
    aad.extend_from_slice(&(ctx.len() as u32).to_be_bytes());
    aad.extend_from_slice(&ctx);
    aad.extend_from_slice(record.as_bytes());
    aad
}

impl Envelope {
    pub fn new(
        keys: Arc<dyn KeyService>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        limits: CacheLimits,
    ) -> Self {
        Self {
            keys,
            random,
            cache: KeyCache::new(clock, limits),
            account_keys: None,
        }
    }

    /// Seals each account's values under its key too (format 2), kept in `keys`.
    pub fn with_account_keys(mut self, keys: Arc<AccountKeys>) -> Self {
        self.account_keys = Some(keys);
        self
    }

    /// The account keys, when this envelope uses them.
    pub fn account_keys(&self) -> Option<&Arc<AccountKeys>> {
        self.account_keys.as_ref()
    }

    /// Destroys `user`'s key: every value sealed for the account in format 2 opens for
    /// nobody from now on, wherever a copy of it is. A no-op without account keys.
    pub async fn shred(&self, user: &str) -> Result<(), EnvelopeError> {
        match &self.account_keys {
            Some(keys) => keys.shred(user).await,
            None => Ok(()),
        }
    }

    pub fn key_service(&self) -> &Arc<dyn KeyService> {
        &self.keys
    }

    /// Seals `plaintext` for `record` (for example `USER#u1#password`) under a data key
    /// bound to `context` (what the key service sees: no PII), and, when the context
    /// names a `user` and account keys are on, under that account's key inside.
    pub async fn seal(
        &self,
        context: &EncryptionContext,
        record: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let (Some(keys), Some(user)) = (&self.account_keys, account_of(context)) else {
            return self.seal_v1(context, record, plaintext).await;
        };
        let account_key = keys.find_or_make(self, user).await?;
        let layer_key = account_layer_key(&account_key, context);
        let nonce = self.random.array::<{ aead::NONCE_LEN }>();
        let mut inner = Zeroizing::new(nonce.to_vec());
        inner.extend(aead::encrypt(
            &layer_key,
            &nonce,
            record.as_bytes(),
            plaintext,
        ));
        self.seal_format(FORMAT_V2, context, record, &inner).await
    }

    /// Seals in format 1 (the key service's wrap alone): for what is no account's, and
    /// the wrap key of the account keys themselves.
    pub(crate) async fn seal_v1(
        &self,
        context: &EncryptionContext,
        record: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        self.seal_format(FORMAT_V1, context, record, plaintext)
            .await
    }

    async fn seal_format(
        &self,
        format: u8,
        context: &EncryptionContext,
        record: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, EnvelopeError> {
        let data_key = match self.cache.sealing_key(context) {
            Some(k) => k,
            None => {
                let fresh = self.keys.generate_data_key(context).await?;
                self.cache.keep_sealing_key(context, &fresh);
                fresh
            }
        };
        let id = data_key.key_id.as_bytes();
        let id_len = u8::try_from(id.len()).map_err(|_| EnvelopeError::Malformed)?;
        let wrapped_len =
            u16::try_from(data_key.wrapped.len()).map_err(|_| EnvelopeError::Malformed)?;
        let mut out = Vec::with_capacity(
            4 + id.len()
                + data_key.wrapped.len()
                + aead::NONCE_LEN
                + plaintext.len()
                + aead::TAG_LEN,
        );
        out.push(format);
        out.push(id_len);
        out.extend_from_slice(id);
        out.extend_from_slice(&wrapped_len.to_be_bytes());
        out.extend_from_slice(&data_key.wrapped);
        let aad = associated_data(&out, context, record);
        let nonce = self.random.array::<{ aead::NONCE_LEN }>();
        out.extend_from_slice(&nonce);
        out.extend(aead::encrypt(
            data_key.plaintext.expose(),
            &nonce,
            &aad,
            plaintext,
        ));
        Ok(out)
    }

    /// Opens what [`Envelope::seal`] made for the same context and record. A value of a
    /// deleted account (format 2, its key gone) is [`EnvelopeError::Rejected`].
    pub async fn open(
        &self,
        context: &EncryptionContext,
        record: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let header = parse(sealed).ok_or(EnvelopeError::Malformed)?;
        let outer = self.open_header(&header, context, record).await?;
        if header.version == FORMAT_V1 {
            return Ok(outer);
        }
        let (Some(keys), Some(user)) = (&self.account_keys, account_of(context)) else {
            return Err(EnvelopeError::Malformed);
        };
        let account_key = keys
            .find(self, user)
            .await?
            .ok_or(EnvelopeError::Rejected)?;
        let layer_key = account_layer_key(&account_key, context);
        let (nonce, ciphertext) = outer
            .split_first_chunk::<{ aead::NONCE_LEN }>()
            .ok_or(EnvelopeError::Malformed)?;
        aead::decrypt(&layer_key, nonce, record.as_bytes(), ciphertext)
            .ok_or(EnvelopeError::Rejected)
    }

    /// Opens a format-1 value only (the account keys' wrap key).
    pub(crate) async fn open_v1(
        &self,
        context: &EncryptionContext,
        record: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let header = parse(sealed)
            .filter(|h| h.version == FORMAT_V1)
            .ok_or(EnvelopeError::Malformed)?;
        self.open_header(&header, context, record).await
    }

    async fn open_header(
        &self,
        header: &Header<'_>,
        context: &EncryptionContext,
        record: &str,
    ) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
        let key = match self
            .cache
            .opening_key(header.key_id, header.wrapped, context)
        {
            Some(k) => k,
            None => {
                let k = self
                    .keys
                    .decrypt_data_key(header.key_id, header.wrapped, context)
                    .await?;
                self.cache
                    .keep_opening_key(header.key_id, header.wrapped, context, &k);
                k
            }
        };
        let aad = associated_data(header.bytes, context, record);
        aead::decrypt(key.expose(), header.nonce, &aad, header.ciphertext)
            .ok_or(EnvelopeError::Rejected)
    }

    /// The root key id a sealed value names (for re-wrapping after rotation).
    pub fn key_id_of(sealed: &[u8]) -> Option<&str> {
        parse(sealed).map(|h| h.key_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::keys::{DataKey, MacPurpose, SecretKey};
    use crate::random::SeededRandom;
    use async_trait::async_trait;

    /// A key service that "wraps" by XOR with a constant: enough to exercise the cache.
    #[derive(Debug)]
    struct Toy;

    #[async_trait]
    impl KeyService for Toy {
        fn adapter(&self) -> &'static str {
            "toy"
        }
        async fn generate_data_key(&self, _: &EncryptionContext) -> Result<DataKey, KeyError> {
            let key = SeededRandom::new(9).array::<32>();
            Ok(DataKey {
                key_id: "toy".into(),
                plaintext: SecretKey::from_bytes(key),
                wrapped: key.iter().map(|b| b ^ 0x5a).collect(),
            })
        }
        async fn decrypt_data_key(
            &self,
            _: &str,
            wrapped: &[u8],
            _: &EncryptionContext,
        ) -> Result<SecretKey, KeyError> {
            let plain: Vec<u8> = wrapped.iter().map(|b| b ^ 0x5a).collect();
            SecretKey::from_slice(&plain).ok_or(KeyError::Rejected)
        }
        async fn mac(&self, _: MacPurpose, _: &[u8]) -> Result<[u8; 32], KeyError> {
            Err(KeyError::Unavailable("the toy makes no MAC".into()))
        }
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_capacity() {
        let limits = CacheLimits {
            ttl_ms: 60_000,
            capacity: 2,
            max_uses: 10,
        };
        let env = Envelope::new(
            Arc::new(Toy),
            Arc::new(ManualClock::at_ms(0)),
            Arc::new(SeededRandom::new(1)),
            limits,
        );
        let mut sealed = Vec::new();
        for user in ["a", "b", "c", "d"] {
            let ctx = EncryptionContext::new().with("user", user);
            sealed.push((ctx.clone(), env.seal(&ctx, "r", b"x").await.unwrap()));
        }
        for (ctx, s) in &sealed {
            env.open(ctx, "r", s).await.unwrap();
        }
        let (sealing, opening) = env.cache.sizes();
        assert!(sealing <= 2 && opening <= 2, "{sealing} {opening}");
    }
}
