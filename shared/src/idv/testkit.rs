//! The world the identity-verification tests run in: real accounts over the embedded
//! store and a local root key, a clock the test moves, and a gate that makes races
//! certain ([`Gated`]: each racer's transaction waits until every racer has read).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::duplicates::Duplicates;
use super::letter::Letters;
use super::profile::Profiles;
use super::session_pii::SessionPii;
use crate::account::accounts::{Accounts, SignupStart};
use crate::account::email::EmailAddress;
use crate::account::events::EventContext;
use crate::account::password_hash::HashParams;
use crate::clock::{Clock, ManualClock};
use crate::envelope::{CacheLimits, Envelope};
use crate::keys::local::LocalKeyService;
use crate::random::OsRandom;
use crate::ratelimit::RateLimiter;
use crate::session::{SessionPolicy, Sessions};
use crate::sqlite::Db;
use crate::store::Store;
use crate::store::embedded::EmbeddedStore;
use crate::store::gated::Gated;

pub(crate) use super::seal::tests::{FAST, sample_pii};

pub(crate) const PASSWORD: &str = "correct horse battery staple";
pub(crate) const NEW_PASSWORD: &str = "violet umbrella marching quietly";
pub(crate) const T0_MS: i64 = 1_800_000_000_000;

pub(crate) struct World {
    pub dir: tempfile::TempDir,
    pub db: Db,
    pub clock: Arc<ManualClock>,
    pub gated: Arc<Gated>,
    pub store: Arc<dyn Store>,
    pub envelope: Arc<Envelope>,
    pub accounts: Accounts,
    pub sessions: Sessions,
    pub profiles: Profiles,
    pub letters: Letters,
    pub duplicates: Duplicates,
    pub session_pii: SessionPii,
}

pub(crate) async fn world() -> World {
    world_with(FAST).await
}

pub(crate) async fn world_with(params: HashParams) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::at_ms(T0_MS));
    let db = Db::in_dir(dir.path()).unwrap();
    let gated = Arc::new(Gated::new(Arc::new(EmbeddedStore::new(
        db.clone(),
        clock.clone() as Arc<dyn Clock>,
    ))));
    let store: Arc<dyn Store> = gated.clone();
    let keys = Arc::new(LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap());
    let envelope = Arc::new(Envelope::new(
        keys.clone(),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        CacheLimits::default(),
    ));
    let accounts = Accounts::new(
        Arc::clone(&store),
        Arc::clone(&envelope),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        params,
    )
    .await
    .unwrap();
    let limiter = Arc::new(RateLimiter::new(
        Arc::clone(&store),
        clock.clone() as Arc<dyn Clock>,
        accounts.fingerprints().subkey("ratelimit"),
    ));
    let profiles = Profiles::new(
        Arc::clone(&store),
        Arc::clone(&envelope),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        Arc::clone(&limiter),
        params,
    );
    let letters = Letters::new(
        Arc::clone(&store),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        Arc::clone(&limiter),
        accounts.fingerprints().subkey("idv-letter"),
    );
    let duplicates = Duplicates::new(Arc::clone(&store), keys);
    let sessions = Sessions::new(
        Arc::clone(&store),
        clock.clone() as Arc<dyn Clock>,
        Arc::new(OsRandom),
        SessionPolicy::default(),
    );
    let session_pii = SessionPii::new(Arc::clone(&store), Arc::new(OsRandom));
    World {
        dir,
        db,
        clock,
        gated,
        store,
        envelope,
        accounts,
        sessions,
        profiles,
        letters,
        duplicates,
        session_pii,
    }
}

impl World {
    /// A new account (password [`PASSWORD`]) for `address`; returns its id.
    pub(crate) async fn account(&self, address: &str) -> String {
        let email = EmailAddress::parse(address).unwrap();
        let SignupStart::Confirm(token) = self.accounts.begin_signup(&email, "en").await.unwrap()
        else {
            panic!("{address} is new");
        };
        self.accounts
            .complete_signup(&token, PASSWORD, &EventContext::default())
            .await
            .unwrap()
            .id
    }

    /// Resets the password of `address`'s account by its emailed link.
    pub(crate) async fn reset_password(&self, address: &str, new: &str) {
        let email = EmailAddress::parse(address).unwrap();
        let (_, token) = self.accounts.begin_reset(&email).await.unwrap().unwrap();
        self.accounts
            .complete_reset(&token, new, &EventContext::default())
            .await
            .unwrap();
    }

    /// Every stored byte: each item's key and attributes (binary ones decoded) from the
    /// database, and the raw files of the data directory (database, WAL, root key).
    pub(crate) async fn stored_bytes(&self) -> Vec<Vec<u8>> {
        let rows: Vec<(String, String, String)> = self
            .db
            .sql(|conn| {
                let mut stmt = conn.prepare("SELECT pk, sk, attrs FROM items")?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
            .unwrap();
        let mut out = Vec::new();
        for (pk, sk, attrs) in rows {
            out.push(pk.into_bytes());
            out.push(sk.into_bytes());
            let json: serde_json::Value = serde_json::from_str(&attrs).unwrap();
            for value in json.as_object().unwrap().values() {
                if let Some(b64) = value.get("B").and_then(|v| v.as_str()) {
                    out.push(STANDARD.decode(b64).unwrap());
                }
            }
            out.push(attrs.into_bytes());
        }
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                out.push(std::fs::read(path).unwrap());
            }
        }
        out
    }
}

/// `value` as it might be found at rest: UTF-8 in its case and in lowercase, base64
/// (standard and URL-safe, at each of the three alignments), hex (lower and upper).
pub(crate) fn encodings(value: &str) -> Vec<Vec<u8>> {
    let mut forms = vec![
        value.as_bytes().to_vec(),
        value.to_lowercase().into_bytes(),
        value.to_uppercase().into_bytes(),
    ];
    for start in 0..3 {
        // A value inside a longer base64 text shows as the encoding of the value shifted
        // by 0, 1 or 2 bytes; the middle characters are the same whatever surrounds it.
        let padded = [&vec![0u8; start][..], value.as_bytes()].concat();
        for text in [STANDARD.encode(&padded), URL_SAFE_NO_PAD.encode(&padded)] {
            let skip = (start * 4).div_ceil(3) + 1;
            let inner = text.trim_end_matches('=');
            if inner.len() > skip + 2 {
                forms.push(inner.as_bytes()[skip..inner.len() - 2].to_vec());
            }
        }
    }
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    forms.push(hex.to_uppercase().into_bytes());
    forms.push(hex.into_bytes());
    forms
}

/// Whether any stored byte string contains any form of `value`.
pub(crate) fn found(stored: &[Vec<u8>], value: &str) -> Option<String> {
    for form in encodings(value) {
        for bytes in stored {
            if bytes.windows(form.len()).any(|w| w == form.as_slice()) {
                return Some(String::from_utf8_lossy(&form).into_owned());
            }
        }
    }
    None
}

#[test]
fn given_a_value_hidden_in_any_encoding_then_the_scan_finds_it() {
    let value = "Zyxwvutsra";
    for prefix in ["", "a", "ab", "abc"] {
        let blob = format!("{prefix}{value}tail");
        for stored in [
            STANDARD.encode(&blob),
            URL_SAFE_NO_PAD.encode(&blob),
            blob.bytes().map(|b| format!("{b:02x}")).collect::<String>(),
            blob.bytes().map(|b| format!("{b:02X}")).collect::<String>(),
            blob.to_lowercase(),
        ] {
            assert!(
                found(&[stored.clone().into_bytes()], value).is_some(),
                "{stored}"
            );
        }
    }
    assert_eq!(found(&[b"nothing to see".to_vec()], value), None);
}
