//! The operator without the MAC (issue 16, IDV-6, IDV-7, ACC-2): someone who holds every
//! item of the store and the root keys — so every data key the key service unwraps, the
//! deployment's fingerprint key and the plaintext of every sealed value of the accounts
//! (password hashes, email addresses, the outer layer of the identity copies) — but not the
//! key service's MAC key, can recompute neither an SSN fingerprint nor a password check.
//! Every 32-byte key they hold (the root keys, the fingerprint key and its subkeys, every
//! 32-byte window of every plaintext they opened), used in every way the code could have
//! used one, and a key service of their own with the same root keys, all give other
//! values; the deployment's key service gives the stored ones (the control: the sweep
//! would find a fingerprint made from a held key, so the test can fail). Duplicate
//! detection keeps working across two accounts, across a race of two and across two
//! processes of the deployment.

use std::sync::Arc;

use argon2::PasswordHash;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::duplicates::{DuplicateError, Duplicates};
use super::pii::Pii;
use super::seal::{self, SealedBy, SealedPii};
use super::testkit::{PASSWORD, World, sample_pii, world};
use crate::account::password_hash::{PepperUse, Verified, pepper, verify_sealed};
use crate::clock::SystemClock;
use crate::envelope::{CacheLimits, Envelope};
use crate::fingerprint::Fingerprints;
use crate::keys::local::{LocalKeyService, ROOT_KEYS_FILE};
use crate::keys::{EncryptionContext, KeyService, MacPurpose, SecretKey, mac_message, mac_parts};
use crate::random::OsRandom;
use crate::store::Key;

const SSN: &str = "900112233";

/// What the operator holds: a key service with the deployment's root keys but a MAC key
/// of its own, its envelope, and every 32-byte key they could find.
struct Operator {
    _dir: tempfile::TempDir,
    keys: Arc<LocalKeyService>,
    envelope: Envelope,
    /// The deployment's fingerprint key, opened.
    fingerprints: Fingerprints,
    candidates: Vec<[u8; 32]>,
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Every 32-byte window of `bytes`, as candidate keys.
fn windows(bytes: &[u8]) -> impl Iterator<Item = [u8; 32]> + '_ {
    bytes.windows(32).map(|w| <[u8; 32]>::try_from(w).unwrap())
}

/// The operator of `w`'s deployment, after `users` signed up and verified: the root-key
/// file copied (no MAC key), every sealed value of those accounts opened.
async fn operator(w: &World, users: &[&str]) -> Operator {
    let dir = tempfile::tempdir().unwrap();
    let root_keys = std::fs::read_to_string(w.dir.path().join(ROOT_KEYS_FILE)).unwrap();
    std::fs::write(dir.path().join(ROOT_KEYS_FILE), &root_keys).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.path().join(ROOT_KEYS_FILE),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let keys = Arc::new(LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap());
    let envelope = Envelope::new(
        keys.clone(),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        CacheLimits::default(),
    );
    let mut candidates = Vec::new();
    // The root keys themselves
    for line in root_keys.lines() {
        let (_, b64) = line.split_once(':').unwrap();
        candidates.extend(windows(&STANDARD.decode(b64.trim()).unwrap()));
    }
    // The fingerprint key, and its subkeys
    let item = w
        .store
        .get(&Key::new("CONFIG", "FINGERPRINT_KEY"))
        .await
        .unwrap()
        .unwrap();
    let root = envelope
        .open(
            &EncryptionContext::new().with("purpose", "fingerprint-key"),
            "CONFIG#fingerprint-key",
            item.bytes("sealed").unwrap(),
        )
        .await
        .unwrap();
    candidates.extend(windows(&root));
    let fingerprints = Fingerprints::from_key(SecretKey::from_slice(&root).unwrap());
    for purpose in [
        "idv-ssn",
        "idv-person",
        "ratelimit",
        "email",
        "phone",
        "pairwise",
        "idv-letter",
    ] {
        candidates.push(*fingerprints.subkey(purpose).expose());
    }
    // Every sealed value of the accounts, opened: the password hash, each email address,
    // both identity copies' outer layer
    for user in users {
        let partition = w
            .store
            .query(&crate::store::Query::partition(format!("USER#{user}")))
            .await
            .unwrap();
        for item in &partition.items {
            let record = format!("{}#{}", item.key.pk, item.key.sk);
            let opened = if item.key.sk == "ACCOUNT" {
                let context = EncryptionContext::new()
                    .with("purpose", "password")
                    .with("user", *user);
                let sealed = item.bytes("password").unwrap();
                Some(
                    envelope
                        .open(&context, &format!("USER#{user}#password"), sealed)
                        .await
                        .unwrap()
                        .to_vec(),
                )
            } else if item.key.sk.starts_with("EMAIL#") {
                let context = EncryptionContext::new()
                    .with("purpose", "email")
                    .with("user", *user);
                let sealed = item.bytes("address").unwrap();
                Some(
                    envelope
                        .open(&context, &record, sealed)
                        .await
                        .unwrap()
                        .to_vec(),
                )
            } else {
                None
            };
            candidates.extend(opened.iter().flat_map(|p| windows(p)));
            if item.key.sk == "IDV_PROFILE" {
                for (attr, copy) in [
                    ("password_copy", SealedBy::Password),
                    ("personal_key_copy", SealedBy::PersonalKey),
                ] {
                    let context = EncryptionContext::new()
                        .with("purpose", "idv-profile")
                        .with("user", *user)
                        .with("copy", copy.as_str());
                    let record = format!("USER#{user}#IDV_PROFILE#{}", copy.as_str());
                    let inner = envelope
                        .open(&context, &record, item.bytes(attr).unwrap())
                        .await
                        .unwrap();
                    candidates.extend(windows(&inner));
                }
            }
        }
    }
    Operator {
        _dir: dir,
        keys,
        envelope,
        fingerprints,
        candidates,
    }
}

impl Operator {
    /// Every value the operator can compute from `data` for `purpose` without the MAC
    /// key: each candidate key as an HMAC key over the data, over the key service's MAC
    /// message and as a fingerprint root; and their own key service's MAC.
    async fn sweep(&self, purpose: MacPurpose, data: &[u8]) -> Vec<[u8; 32]> {
        let message = mac_message(purpose, data).unwrap();
        let mut out = Vec::new();
        for key in &self.candidates {
            out.push(hmac(key, data));
            out.push(hmac(key, &message));
            if let Ok(text) = std::str::from_utf8(data) {
                let old = Fingerprints::from_key(SecretKey::from_bytes(*key));
                let fp = URL_SAFE_NO_PAD
                    .decode(old.of(purpose.as_str(), text))
                    .unwrap();
                out.push(<[u8; 32]>::try_from(fp.as_slice()).unwrap());
            }
        }
        out.push(self.keys.mac(purpose, data).await.unwrap());
        out
    }
}

/// The SSN claims in the store, decoded from `IDV_SSN#mac1:<base64url>`.
async fn ssn_claims(w: &World) -> Vec<[u8; 32]> {
    let keys: Vec<String> =
        w.db.sql(|conn| {
            let mut stmt = conn.prepare("SELECT pk FROM items WHERE pk LIKE 'IDV_SSN#%'")?;
            let rows = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
        .unwrap();
    keys.iter()
        .map(|pk| {
            let fp = pk.strip_prefix("IDV_SSN#mac1:").expect("a MAC fingerprint");
            <[u8; 32]>::try_from(URL_SAFE_NO_PAD.decode(fp).unwrap().as_slice()).unwrap()
        })
        .collect()
}

async fn verified(w: &World, address: &str, pii: &Pii) -> String {
    let user = w.account(address).await;
    w.duplicates.claim(&user, pii).await.unwrap();
    w.profiles.activate(&user, pii, PASSWORD).await.unwrap();
    user
}

#[tokio::test]
async fn given_everything_but_the_mac_then_no_ssn_fingerprint_can_be_recomputed() {
    // Given a verified identity, and an operator with the store, the root keys and every
    // plaintext the key service's unwrap gives
    let w = world().await;
    let user = verified(&w, "ada@example.gov", &sample_pii()).await;
    let op = operator(&w, &[&user]).await;
    let claims = ssn_claims(&w).await;
    assert_eq!(claims.len(), 1);
    assert!(op.candidates.len() > 100, "{}", op.candidates.len());
    // When they compute every fingerprint of the right SSN they can
    let swept = op.sweep(MacPurpose::IdvSsn, SSN.as_bytes()).await;
    // Then none is the stored claim, nor any other purpose's MAC either
    assert!(!swept.iter().any(|v| claims.contains(v)));
    let limit = op.sweep(MacPurpose::IdvSsnLimit, SSN.as_bytes()).await;
    assert!(!limit.iter().any(|v| claims.contains(v)));
    // Control: the deployment's key service gives the claim (one call) …
    let keys = w.envelope.key_service();
    assert_eq!(
        keys.mac(MacPurpose::IdvSsn, SSN.as_bytes()).await.unwrap(),
        claims[0]
    );
    // … and a fingerprint made the former way, with the fingerprint key the operator
    // opened, is one the sweep finds
    let former = URL_SAFE_NO_PAD
        .decode(op.fingerprints.of("idv-ssn", SSN))
        .unwrap();
    assert!(swept.iter().any(|v| v.as_slice() == former.as_slice()));
}

#[tokio::test]
async fn given_everything_but_the_mac_then_no_password_guess_can_be_checked() {
    // Given a verified identity and the operator
    let w = world().await;
    let user = verified(&w, "ada@example.gov", &sample_pii()).await;
    let op = operator(&w, &[&user]).await;
    // They open the password hash: costs, salt and the stored output
    let account = w
        .store
        .get(&Key::new(format!("USER#{user}"), "ACCOUNT"))
        .await
        .unwrap()
        .unwrap();
    let sealed = account.bytes("password").unwrap();
    let context = EncryptionContext::new()
        .with("purpose", "password")
        .with("user", user.clone());
    let plain = op
        .envelope
        .open(&context, &format!("USER#{user}#password"), sealed)
        .await
        .unwrap();
    let text = std::str::from_utf8(&plain).unwrap();
    let phc = PasswordHash::new(text.strip_prefix("pepper-v1").unwrap()).unwrap();
    let stored = phc.hash.as_ref().unwrap().as_bytes().to_vec();
    let costs = argon2::Params::try_from(&phc).unwrap();
    // When they guess right, argon2 the guess with that salt, and compute all they can
    let mut raw = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, costs)
        .hash_password_into(
            PASSWORD.as_bytes(),
            phc.salt.as_ref().unwrap().as_ref(),
            &mut raw,
        )
        .unwrap();
    let input = mac_parts(&[b"password-check", &raw]);
    let mut swept = op.sweep(MacPurpose::PepperV1, &input).await;
    swept.extend(op.sweep(MacPurpose::PepperV1, &raw).await);
    swept.push(raw);
    // Then nothing equals the stored output: they cannot tell the right guess
    assert!(!swept.iter().any(|v| v.as_slice() == stored.as_slice()));
    let verified = verify_sealed(
        &op.envelope,
        &crate::idv::testkit::FAST,
        &user,
        PASSWORD,
        sealed,
    )
    .await
    .unwrap();
    assert_eq!(verified, Verified::Mismatch);
    // Nor does the right password open the identity's password copy with their keys
    let profile = w
        .store
        .get(&Key::new(format!("USER#{user}"), "IDV_PROFILE"))
        .await
        .unwrap()
        .unwrap();
    let copy = SealedPii::from_bytes(profile.bytes("password_copy").unwrap().to_vec());
    let opened = seal::open(
        &op.envelope,
        &user,
        SealedBy::Password,
        PASSWORD.as_bytes(),
        &copy,
    )
    .await
    .unwrap();
    assert_eq!(opened, None);
    // Control: one call to the deployment's key service tells the right guess, and opens
    let keys = w.envelope.key_service();
    let peppered = pepper(keys.as_ref(), PepperUse::PasswordCheck, &raw)
        .await
        .unwrap();
    assert_eq!(peppered.as_slice(), stored.as_slice());
    let opened = seal::open(
        &w.envelope,
        &user,
        SealedBy::Password,
        PASSWORD.as_bytes(),
        &copy,
    )
    .await
    .unwrap();
    assert_eq!(opened, Some(sample_pii()));
}

#[tokio::test]
async fn given_the_mac_in_the_key_service_then_duplicates_are_still_found_across_accounts_processes_and_a_race()
 {
    let w = world().await;
    // Two accounts, the second in another process of the deployment (its own key
    // service, opened from the same data directory)
    let a = verified(&w, "one@example.gov", &sample_pii()).await;
    let b = w.account("two@example.gov").await;
    let elsewhere = Duplicates::new(
        Arc::clone(&w.store),
        Arc::new(LocalKeyService::open(w.dir.path(), Arc::new(OsRandom)).unwrap()),
    );
    let refused = elsewhere.claim(&b, &sample_pii()).await;
    assert!(matches!(refused, Err(DuplicateError::Ssn)), "{refused:?}");
    assert_eq!(
        elsewhere
            .ssn_holder(&sample_pii())
            .await
            .unwrap()
            .as_deref(),
        Some(a.as_str())
    );
    // A race of two, one through each process, with a new SSN and person
    let mut other = sample_pii();
    other.ssn = "900445566".into();
    other.given_name = "Quillon".into();
    let (c, d) = (
        w.account("three@example.gov").await,
        w.account("four@example.gov").await,
    );
    w.gated.arm(2);
    let here = w.duplicates.clone();
    let (p1, p2) = (other.clone(), other.clone());
    let racers = [
        tokio::spawn(async move { here.claim(&c, &p1).await }),
        tokio::spawn(async move { elsewhere.claim(&d, &p2).await }),
    ];
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    let lost = outcomes
        .iter()
        .filter(|o| matches!(o, Err(DuplicateError::Ssn)))
        .count();
    assert_eq!((won, lost), (1, 1), "{outcomes:?}");
}
