//! Per-account keys, for crypto-shredding: everything the envelope seals for an account
//! (a context naming a `user`) is also sealed under that account's key, and the key lives
//! in a store of its own: the **key table** (embedded: `account-keys.db` beside the main
//! database; AWS: a DynamoDB table without point-in-time recovery). Deleting the account
//! deletes its key, so no copy of the main table, however old, opens anything of the
//! account again, even with the key service.
//!
//! - An account key is 32 random bytes, sealed under the deployment's **wrap key**
//!   (AES-256-GCM, associated data naming the account), item `ACCOUNT_KEY#<user>`/`KEY`.
//! - The wrap key is 32 random bytes sealed by the envelope (context
//!   `purpose=account-key-wrap`) in the key table's `CONFIG`/`WRAP_KEY`, made on first use
//!   and opened once per process: an account key costs a read of the key table, never a
//!   key-service call.
//! - Who can open an account key: whoever holds the key table **and** the key service
//!   (the functions, an operator with both), while the account exists. After deletion,
//!   nobody: the key table keeps no history (its own backups, if an operator makes any, are
//!   the one place a deleted key survives, for their retention: docs/privacy.md).
//! - Opened keys are cached in memory for [`CACHE_MS`]; a process that cached a key keeps
//!   it that long after the account is deleted elsewhere.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use super::{Envelope, EnvelopeError};
use crate::aead;
use crate::clock::Clock;
use crate::keys::{EncryptionContext, SecretKey};
use crate::random::{Random, RandomExt};
use crate::store::{Expect, Item, Key, Store};

/// How long an opened account key stays in memory.
pub const CACHE_MS: i64 = 5 * 60_000;
/// The most account keys kept in memory at once.
const CACHE_CAPACITY: usize = 10_000;
const FORMAT: u8 = 1;

fn key_of(user: &str) -> Key {
    Key::new(format!("ACCOUNT_KEY#{user}"), "KEY")
}

fn wrap_key_item() -> Key {
    Key::new("CONFIG", "WRAP_KEY")
}

fn wrap_context() -> EncryptionContext {
    EncryptionContext::new().with("purpose", "account-key-wrap")
}

fn associated_data(user: &str) -> Vec<u8> {
    format!("passerelle/account-key/v1/{user}").into_bytes()
}

/// The key table and the keys it holds.
pub struct AccountKeys {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    wrap: OnceCell<SecretKey>,
    cache: Mutex<HashMap<String, (SecretKey, i64)>>,
    /// The embedded key table's database, checkpointed after each shredding so that the
    /// deleted key does not stay in its WAL.
    #[cfg(feature = "embedded")]
    scrub: Option<crate::sqlite::Db>,
}

impl std::fmt::Debug for AccountKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountKeys")
            .field("store", &self.store.adapter())
            .finish_non_exhaustive()
    }
}

impl AccountKeys {
    /// Account keys kept in `store`, which must not be the main table (the point is that
    /// the main table's backups do not hold them).
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, random: Arc<dyn Random>) -> Self {
        Self {
            store,
            clock,
            random,
            wrap: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
            #[cfg(feature = "embedded")]
            scrub: None,
        }
    }

    /// Checkpoints `db` (the embedded key table's) after each shredding: with
    /// `secure_delete`, the deleted key is then gone from the files too. A checkpoint
    /// costs milliseconds, and accounts are deleted rarely.
    #[cfg(feature = "embedded")]
    pub fn scrubbing(mut self, db: crate::sqlite::Db) -> Self {
        self.scrub = Some(db);
        self
    }

    /// The key table's store (for health checks and tests).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    async fn wrap_key(&self, envelope: &Envelope) -> Result<&SecretKey, EnvelopeError> {
        self.wrap
            .get_or_try_init(|| async {
                let record = "CONFIG#account-key-wrap";
                if let Some(item) = self.store.get(&wrap_key_item()).await.map_err(store)? {
                    let sealed = item.bytes("sealed").ok_or(EnvelopeError::Malformed)?;
                    let opened = envelope.open_v1(&wrap_context(), record, sealed).await?;
                    return SecretKey::from_slice(&opened).ok_or(EnvelopeError::Malformed);
                }
                let fresh = Zeroizing::new(self.random.array::<32>());
                let sealed = envelope.seal_v1(&wrap_context(), record, &*fresh).await?;
                let item = Item::new(wrap_key_item()).with("sealed", sealed);
                match self.store.put(item, Expect::Absent).await {
                    Ok(_) => Ok(SecretKey::from_bytes(*fresh)),
                    // Another process made it first: theirs is the one.
                    Err(e) if e.is_condition_failure() => {
                        let item = self
                            .store
                            .get(&wrap_key_item())
                            .await
                            .map_err(store)?
                            .ok_or(EnvelopeError::Malformed)?;
                        let sealed = item.bytes("sealed").ok_or(EnvelopeError::Malformed)?;
                        let opened = envelope.open_v1(&wrap_context(), record, sealed).await?;
                        SecretKey::from_slice(&opened).ok_or(EnvelopeError::Malformed)
                    }
                    Err(e) => Err(store(e)),
                }
            })
            .await
    }

    fn cached(&self, user: &str) -> Option<SecretKey> {
        let now = self.clock.now_ms();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match cache.get(user) {
            Some((key, since)) if now - since < CACHE_MS => Some(key.clone()),
            Some(_) => {
                cache.remove(user);
                None
            }
            None => None,
        }
    }

    fn keep(&self, user: &str, key: &SecretKey) {
        let now = self.clock.now_ms();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.retain(|_, (_, since)| now - *since < CACHE_MS);
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(user.to_owned(), (key.clone(), now));
    }

    fn unwrap_key(&self, wrap: &SecretKey, user: &str, item: &Item) -> Option<SecretKey> {
        let sealed = item.bytes("key")?;
        let (&format, rest) = sealed.split_first()?;
        if format != FORMAT || rest.len() < aead::NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(aead::NONCE_LEN);
        let nonce: [u8; aead::NONCE_LEN] = nonce.try_into().ok()?;
        let plain = aead::decrypt(wrap.expose(), &nonce, &associated_data(user), ciphertext)?;
        SecretKey::from_slice(&plain)
    }

    /// `user`'s key; `None` when the account has none (never sealed anything, or deleted).
    pub(super) async fn find(
        &self,
        envelope: &Envelope,
        user: &str,
    ) -> Result<Option<SecretKey>, EnvelopeError> {
        if let Some(key) = self.cached(user) {
            return Ok(Some(key));
        }
        let Some(item) = self.store.get(&key_of(user)).await.map_err(store)? else {
            return Ok(None);
        };
        let wrap = self.wrap_key(envelope).await?;
        let key = self
            .unwrap_key(wrap, user, &item)
            .ok_or(EnvelopeError::Malformed)?;
        self.keep(user, &key);
        Ok(Some(key))
    }

    /// `user`'s key, made on first use. Of two processes making it at once, one key wins
    /// and both use it.
    pub(super) async fn find_or_make(
        &self,
        envelope: &Envelope,
        user: &str,
    ) -> Result<SecretKey, EnvelopeError> {
        if let Some(key) = self.find(envelope, user).await? {
            return Ok(key);
        }
        let wrap = self.wrap_key(envelope).await?;
        let fresh = SecretKey::from_bytes(self.random.array::<32>());
        let nonce = self.random.array::<{ aead::NONCE_LEN }>();
        let mut sealed = vec![FORMAT];
        sealed.extend_from_slice(&nonce);
        sealed.extend(aead::encrypt(
            wrap.expose(),
            &nonce,
            &associated_data(user),
            fresh.expose(),
        ));
        let item = Item::new(key_of(user)).with("key", sealed);
        match self.store.put(item, Expect::Absent).await {
            Ok(_) => {
                self.keep(user, &fresh);
                Ok(fresh)
            }
            Err(e) if e.is_condition_failure() => self
                .find(envelope, user)
                .await?
                .ok_or(EnvelopeError::Malformed),
            Err(e) => Err(store(e)),
        }
    }

    /// Deletes `user`'s key: whatever was sealed for the account opens for nobody from
    /// now on (in this process at once; in others within [`CACHE_MS`]).
    pub(super) async fn shred(&self, user: &str) -> Result<(), EnvelopeError> {
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
        self.store
            .delete(&key_of(user), Expect::Any)
            .await
            .map_err(store)?;
        #[cfg(feature = "embedded")]
        if let Some(db) = &self.scrub {
            match db.scrub().await {
                Ok(true) => {}
                // Another process reads the file: its next checkpoint (or the local
                // stack's scrub) takes the key out.
                Ok(false) => tracing::warn!("the key table's WAL is in use; not scrubbed yet"),
                Err(e) => tracing::warn!(error = %e, "the key table's WAL scrub failed"),
            }
        }
        Ok(())
    }
}

fn store(e: crate::store::StoreError) -> EnvelopeError {
    EnvelopeError::AccountKeys(e)
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::envelope::{CacheLimits, FORMAT_V1, FORMAT_V2};
    use crate::keys::local::LocalKeyService;
    use crate::random::OsRandom;
    use crate::sqlite::Db;
    use crate::store::embedded::EmbeddedStore;

    /// A process's envelope over `dir`'s key service and key table.
    fn process(dir: &std::path::Path, with_keys: bool) -> Envelope {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::at_ms(1_800_000_000_000));
        let keys = Arc::new(LocalKeyService::open(dir, Arc::new(OsRandom)).unwrap());
        let envelope = Envelope::new(
            keys,
            Arc::clone(&clock),
            Arc::new(OsRandom),
            CacheLimits::default(),
        );
        if !with_keys {
            return envelope;
        }
        let table = EmbeddedStore::new(
            Db::open(&dir.join("account-keys.db")).unwrap(),
            Arc::clone(&clock),
        );
        envelope.with_account_keys(Arc::new(AccountKeys::new(
            Arc::new(table),
            clock,
            Arc::new(OsRandom),
        )))
    }

    fn of(user: &str) -> EncryptionContext {
        EncryptionContext::new()
            .with("purpose", "email")
            .with("user", user)
    }

    #[tokio::test]
    async fn given_account_keys_then_an_accounts_values_are_format_2_and_shredding_closes_them() {
        let dir = tempfile::tempdir().unwrap();
        let env = process(dir.path(), true);
        // Given a value of an account and one of no account
        let mine = env.seal(&of("u1"), "r", b"ada@example.gov").await.unwrap();
        let theirs = env.seal(&of("u2"), "r", b"bob@example.gov").await.unwrap();
        let nobodys = env
            .seal(
                &EncryptionContext::new().with("purpose", "notify-job"),
                "r",
                b"x",
            )
            .await
            .unwrap();
        assert_eq!((mine[0], nobodys[0]), (FORMAT_V2, FORMAT_V1));
        assert_eq!(
            &*env.open(&of("u1"), "r", &mine).await.unwrap(),
            b"ada@example.gov"
        );
        // Not under another account's context, even with the same key service
        assert!(env.open(&of("u2"), "r", &mine).await.is_err());
        // When u1's key is shredded, its value opens for nobody, in this process or a new one
        env.shred("u1").await.unwrap();
        assert!(matches!(
            env.open(&of("u1"), "r", &mine).await,
            Err(EnvelopeError::Rejected)
        ));
        let fresh = process(dir.path(), true);
        assert!(fresh.open(&of("u1"), "r", &mine).await.is_err());
        // While the others still open
        assert_eq!(
            &*fresh.open(&of("u2"), "r", &theirs).await.unwrap(),
            b"bob@example.gov"
        );
        let notify = EncryptionContext::new().with("purpose", "notify-job");
        assert_eq!(&*fresh.open(&notify, "r", &nobodys).await.unwrap(), b"x");
        // And the key table holds no key in clear: each is sealed under the wrap key
        let table = fresh.account_keys().unwrap().store();
        let item = table.get(&key_of("u2")).await.unwrap().unwrap();
        let stored = item.bytes("key").unwrap();
        assert_eq!(stored.len(), 1 + aead::NONCE_LEN + 32 + aead::TAG_LEN);
    }

    #[tokio::test]
    async fn given_values_sealed_before_account_keys_then_they_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let old = process(dir.path(), false)
            .seal(&of("u1"), "r", b"ada@example.gov")
            .await
            .unwrap();
        assert_eq!(old[0], FORMAT_V1);
        let env = process(dir.path(), true);
        assert_eq!(
            &*env.open(&of("u1"), "r", &old).await.unwrap(),
            b"ada@example.gov"
        );
        // An envelope without account keys cannot open format 2: it says so
        let new = env.seal(&of("u1"), "r", b"x").await.unwrap();
        assert!(matches!(
            process(dir.path(), false).open(&of("u1"), "r", &new).await,
            Err(EnvelopeError::Malformed)
        ));
    }

    #[tokio::test]
    async fn given_two_processes_sealing_for_a_new_account_at_once_then_one_key_serves_both() {
        let dir = tempfile::tempdir().unwrap();
        for round in 0..10 {
            let user = format!("race-{round}");
            let (a, b) = (process(dir.path(), true), process(dir.path(), true));
            let (ctx_a, ctx_b) = (of(&user), of(&user));
            let (sa, sb) = tokio::join!(
                a.seal(&ctx_a, "r", b"from a"),
                b.seal(&ctx_b, "r", b"from b")
            );
            let (sa, sb) = (sa.unwrap(), sb.unwrap());
            // Each opens the other's: there is one key
            let c = process(dir.path(), true);
            assert_eq!(&*c.open(&of(&user), "r", &sa).await.unwrap(), b"from a");
            assert_eq!(&*c.open(&of(&user), "r", &sb).await.unwrap(), b"from b");
        }
    }
}
