//! The provider's signing keys (OIDC-1, OIDC-4): for each algorithm a *current* key that
//! signs, a *next* key already published so agencies have it cached before it signs, and
//! *retired* keys published until every token they signed has expired.
//!
//! Private keys are PKCS#8 sealed by the key service (context `{purpose:
//! oidc-signing-key}`), one item each; a keyset item lists them with their states and is
//! only ever replaced conditionally on its version, so two rotations cannot both apply.
//! Each process loads the keys once and re-reads the keyset every [`REFRESH_SECS`]
//! (one read; only new keys are opened), so a rotation reaches every running function
//! within that time — which is why retired keys stay published
//! [`TOKEN_SECS`](super::TOKEN_SECS) + [`REFRESH_SECS`] after rotation.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::jose::{Alg, PublicJwk, SigningKey};
use super::{OidcError, TOKEN_SECS};
use crate::clock::Clock;
use crate::envelope::Envelope;
use crate::keys::EncryptionContext;
use crate::random::{Random, RandomExt};
use crate::store::{Expect, Item, Key, Store, StoreError};

/// How often a process re-reads the keyset.
pub const REFRESH_SECS: i64 = 5 * 60;

/// How long a retired key stays published.
pub const RETIRED_SECS: i64 = TOKEN_SECS + REFRESH_SECS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Current,
    Next,
    Retired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    pub kid: String,
    pub alg: Alg,
    pub state: KeyState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_ms: Option<i64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct KeysetDoc {
    keys: Vec<KeyEntry>,
}

fn keyset_key() -> Key {
    Key::new("CONFIG", "SIGNING_KEYSET")
}

fn key_item(kid: &str) -> Key {
    Key::new("CONFIG", format!("SIGNING_KEY#{kid}"))
}

fn context() -> EncryptionContext {
    EncryptionContext::new().with("purpose", "oidc-signing-key")
}

fn record(kid: &str) -> String {
    format!("CONFIG#SIGNING_KEY#{kid}")
}

/// What a process holds: the keys by kid and the JWKS document, as of `loaded_ms`.
#[derive(Debug)]
struct Snapshot {
    loaded_ms: i64,
    entries: Vec<KeyEntry>,
    keys: HashMap<String, Arc<SigningKey>>,
    jwks: Arc<serde_json::Value>,
}

/// The signing keys of one deployment.
#[derive(Debug)]
pub struct SigningKeys {
    store: Arc<dyn Store>,
    envelope: Arc<Envelope>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
}

/// What a rotation did, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub now_current: Vec<String>,
    pub new_next: Vec<String>,
    pub dropped: Vec<String>,
}

impl SigningKeys {
    pub fn new(
        store: Arc<dyn Store>,
        envelope: Arc<Envelope>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            store,
            envelope,
            clock,
            random,
            snapshot: RwLock::new(None),
        }
    }

    /// The key that signs with `alg` now.
    pub async fn current(&self, alg: Alg) -> Result<Arc<SigningKey>, OidcError> {
        let snap = self.snapshot().await?;
        snap.entries
            .iter()
            .find(|e| e.alg == alg && e.state == KeyState::Current)
            .and_then(|e| snap.keys.get(&e.kid))
            .cloned()
            .ok_or_else(|| OidcError::Keys(format!("no current {} key", alg.as_str())))
    }

    /// The JWKS document: every published key.
    pub async fn jwks(&self) -> Result<Arc<serde_json::Value>, OidcError> {
        Ok(Arc::clone(&self.snapshot().await?.jwks))
    }

    /// Every published public key (to check our own ID tokens, e.g. `id_token_hint`).
    pub async fn public_keys(&self) -> Result<Vec<PublicJwk>, OidcError> {
        let snap = self.snapshot().await?;
        Ok(snap.keys.values().map(|k| k.public_jwk()).collect())
    }

    /// The keyset as listed in the store (for the operator command).
    pub async fn entries(&self) -> Result<Vec<KeyEntry>, OidcError> {
        Ok(self.snapshot().await?.entries.clone())
    }

    async fn snapshot(&self) -> Result<Arc<Snapshot>, OidcError> {
        let now = self.clock.now_ms();
        let held = self.snapshot.read().ok().and_then(|s| s.clone());
        if let Some(snap) = &held
            && now - snap.loaded_ms < REFRESH_SECS * 1000
        {
            return Ok(Arc::clone(snap));
        }
        let fresh = Arc::new(self.load(held.as_deref()).await?);
        if let Ok(mut slot) = self.snapshot.write() {
            *slot = Some(Arc::clone(&fresh));
        }
        Ok(fresh)
    }

    /// Reads the keyset (making the first one if there is none) and opens new keys.
    async fn load(&self, held: Option<&Snapshot>) -> Result<Snapshot, OidcError> {
        let (doc, _) = match self.read_keyset().await? {
            Some(found) => found,
            None => self.create().await?,
        };
        let mut keys = HashMap::new();
        for entry in &doc.keys {
            let key = match held.and_then(|h| h.keys.get(&entry.kid)) {
                Some(k) => Arc::clone(k),
                None => Arc::new(self.open(entry).await?),
            };
            keys.insert(entry.kid.clone(), key);
        }
        let published: Vec<PublicJwk> = doc
            .keys
            .iter()
            .filter_map(|e| keys.get(&e.kid))
            .map(|k| k.public_jwk())
            .collect();
        Ok(Snapshot {
            loaded_ms: self.clock.now_ms(),
            entries: doc.keys,
            keys,
            jwks: Arc::new(serde_json::json!({ "keys": published })),
        })
    }

    async fn read_keyset(&self) -> Result<Option<(KeysetDoc, u64)>, OidcError> {
        let Some(item) = self.store.get(&keyset_key()).await? else {
            return Ok(None);
        };
        let doc = item
            .str("doc")
            .and_then(|d| serde_json::from_str(d).ok())
            .ok_or(OidcError::Malformed)?;
        Ok(Some((doc, item.version)))
    }

    async fn open(&self, entry: &KeyEntry) -> Result<SigningKey, OidcError> {
        let item = self
            .store
            .get(&key_item(&entry.kid))
            .await?
            .ok_or(OidcError::Malformed)?;
        let sealed = item.bytes("sealed").ok_or(OidcError::Malformed)?;
        let der = self
            .envelope
            .open(&context(), &record(&entry.kid), sealed)
            .await?;
        SigningKey::from_pkcs8(entry.alg, entry.kid.clone(), &der)
            .map_err(|e| OidcError::Keys(e.to_string()))
    }

    /// Makes a key, seals it and stores it; returns its entry.
    async fn make(&self, alg: Alg, state: KeyState) -> Result<KeyEntry, OidcError> {
        let kid = self.random.token(12);
        let (_, der) =
            SigningKey::generate(alg, kid.clone()).map_err(|e| OidcError::Keys(e.to_string()))?;
        let sealed = self.envelope.seal(&context(), &record(&kid), &der).await?;
        self.store
            .put(
                Item::new(key_item(&kid))
                    .with("sealed", sealed)
                    .with("alg", alg.as_str())
                    .with("created_ms", self.clock.now_ms()),
                Expect::Absent,
            )
            .await?;
        Ok(KeyEntry {
            kid,
            alg,
            state,
            retired_ms: None,
        })
    }

    /// The first keyset: a current and a next key per algorithm. Two processes racing
    /// agree on the winner's; the loser's keys are removed.
    async fn create(&self) -> Result<(KeysetDoc, u64), OidcError> {
        let mut doc = KeysetDoc::default();
        for alg in Alg::ALL {
            doc.keys.push(self.make(alg, KeyState::Current).await?);
            doc.keys.push(self.make(alg, KeyState::Next).await?);
        }
        match self.write_keyset(&doc, Expect::Absent).await {
            Ok(()) => Ok((doc, 1)),
            Err(OidcError::Store(StoreError::ConditionFailed)) => {
                for e in &doc.keys {
                    self.store.delete(&key_item(&e.kid), Expect::Any).await?;
                }
                self.read_keyset().await?.ok_or(OidcError::Malformed)
            }
            Err(e) => Err(e),
        }
    }

    async fn write_keyset(&self, doc: &KeysetDoc, expect: Expect) -> Result<(), OidcError> {
        let text = serde_json::to_string(doc).map_err(|_| OidcError::Malformed)?;
        self.store
            .put(Item::new(keyset_key()).with("doc", text), expect)
            .await?;
        Ok(())
    }

    /// Rotation (the operator command): for each algorithm the next key becomes current,
    /// the current one retires, a new next key is made, and keys retired more than
    /// [`RETIRED_SECS`] ago are dropped. Conditional on the keyset's version: a
    /// concurrent rotation makes this one fail rather than both apply.
    pub async fn rotate(&self) -> Result<Rotation, OidcError> {
        let (mut doc, version) = match self.read_keyset().await? {
            Some(found) => found,
            None => self.create().await?,
        };
        let now = self.clock.now_ms();
        let mut report = Rotation {
            now_current: vec![],
            new_next: vec![],
            dropped: vec![],
        };
        doc.keys.retain(|e| {
            let expired = e.state == KeyState::Retired
                && e.retired_ms.is_some_and(|t| now - t >= RETIRED_SECS * 1000);
            if expired {
                report.dropped.push(e.kid.clone());
            }
            !expired
        });
        for alg in Alg::ALL {
            for e in doc.keys.iter_mut().filter(|e| e.alg == alg) {
                match e.state {
                    KeyState::Current => {
                        e.state = KeyState::Retired;
                        e.retired_ms = Some(now);
                    }
                    KeyState::Next => {
                        e.state = KeyState::Current;
                        report.now_current.push(e.kid.clone());
                    }
                    KeyState::Retired => {}
                }
            }
            let next = self.make(alg, KeyState::Next).await?;
            report.new_next.push(next.kid.clone());
            doc.keys.push(next);
        }
        self.write_keyset(&doc, Expect::Version(version)).await?;
        for kid in &report.dropped {
            self.store.delete(&key_item(kid), Expect::Any).await?;
        }
        if let Ok(mut slot) = self.snapshot.write() {
            *slot = None;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::oidc::jose::verify;

    async fn keys() -> (SigningKeys, Arc<ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::at_ms(1_700_000_000_000));
        let services = crate::services::Services::embedded(
            &crate::config::EmbeddedConfig {
                data_dir: dir.path().into(),
                max_receives: 5,
            },
            clock.clone(),
            Arc::new(crate::random::OsRandom),
        )
        .unwrap();
        let keys = SigningKeys::new(
            services.store,
            services.envelope,
            clock.clone(),
            services.random,
        );
        (keys, clock, dir)
    }

    fn kids(jwks: &serde_json::Value) -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn rotation_promotes_next_and_keeps_the_old_key_published_until_tokens_expire() {
        // Given a fresh deployment: a current and a next key per algorithm are published.
        let (keys, clock, _dir) = keys().await;
        let first = keys.current(Alg::RS256).await.unwrap();
        let jwks = keys.jwks().await.unwrap();
        assert_eq!(kids(&jwks).len(), 4);
        let token = first.sign("JWT", &serde_json::json!({"a": 1})).unwrap();

        // When the operator rotates,
        let report = keys.rotate().await.unwrap();

        // then the former next key signs, and the old one still verifies what it signed.
        let second = keys.current(Alg::RS256).await.unwrap();
        assert_ne!(first.kid, second.kid);
        assert!(report.now_current.contains(&second.kid));
        let published = keys.public_keys().await.unwrap();
        assert!(verify(&token, &published).is_some());
        assert_eq!(kids(&keys.jwks().await.unwrap()).len(), 6);

        // And once its tokens have expired, the next rotation drops it.
        clock.advance_ms(RETIRED_SECS * 1000);
        let report = keys.rotate().await.unwrap();
        assert!(report.dropped.contains(&first.kid));
        let published = keys.public_keys().await.unwrap();
        assert!(verify(&token, &published).is_none());
    }

    #[tokio::test]
    async fn two_processes_agree_on_one_first_keyset() {
        let (a, clock, dir) = keys().await;
        let b = SigningKeys::new(
            Arc::clone(&a.store),
            Arc::clone(&a.envelope),
            clock,
            Arc::clone(&a.random),
        );
        let (ka, kb) = tokio::join!(a.current(Alg::ES256), b.current(Alg::ES256));
        assert_eq!(ka.unwrap().kid, kb.unwrap().kid);
        drop(dir);
    }
}
