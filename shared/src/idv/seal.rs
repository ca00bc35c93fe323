//! Sealing a verified identity (IDV-7, IDV-8): the PII is encrypted with AES-256-GCM
//! under a key argon2id derives from a secret only the person has (their password, or
//! their personal key), and that ciphertext is sealed again by the envelope under a data
//! key whose context names the account and the copy. Opening needs both the secret and
//! the key service: operators, the key service alone and a database thief get nothing.
//!
//! The password copy's key is also **peppered**: argon2's output goes through the key
//! service's MAC (`pepper-v1`, [`crate::account::password_hash`]) before it keys AES-GCM,
//! so someone holding the table and every data key still pays one audited key-service call
//! per password guessed. The personal key is 80 random bits, beyond any guessing, and its
//! copy is not peppered (no extra call when it is used).
//!
//! The inner format is versioned and carries its own KDF parameters and salt, so the
//! costs can change without making existing copies unreadable:
//!
//! ```text
//! version (1) | m_cost_kib (4, BE) | t_cost (4, BE) | p_cost (4, BE) | salt (16)
//!   | nonce (12) | AES-256-GCM(Pii JSON), tag (16)
//! ```
//!
//! Version 1: the key is argon2's output (personal-key copies; password copies sealed
//! before the pepper, which still open and are sealed again peppered at the next password
//! change or reactivation). Version 2: the key is the pepper of argon2's output (password
//! copies).
//!
//! The GCM associated data is a label, the account id, the copy and every header byte
//! before the nonce: a copy moved to another account or swapped with the other copy, or
//! header costs rewritten, does not open.

use zeroize::Zeroizing;

use super::error::IdvError;
use super::pii::Pii;
use crate::account::password_hash::{
    HashParams, PasswordHashError, PepperUse, on_blocking_pool, pepper,
};
use crate::aead;
use crate::envelope::Envelope;
use crate::keys::EncryptionContext;
use crate::random::{Random, RandomExt};

/// The key is argon2's output. A new format gets a new number; old ones stay readable.
pub const FORMAT_V1: u8 = 1;
/// The key is argon2's output peppered by the key service (password copies).
pub const FORMAT_V2: u8 = 2;
pub const SALT_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 3 * 4 + SALT_LEN;
const AAD_LABEL: &[u8] = b"passerelle/idv-seal/v1";

/// Which secret a copy is sealed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedBy {
    Password,
    PersonalKey,
}

impl SealedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SealedBy::Password => "password",
            SealedBy::PersonalKey => "personal-key",
        }
    }
}

/// One sealed copy, as stored: opaque bytes, readable only through [`open`].
#[derive(Clone, PartialEq, Eq)]
pub struct SealedPii(Vec<u8>);

impl std::fmt::Debug for SealedPii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedPii({} bytes)", self.0.len())
    }
}

impl SealedPii {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// What the key service sees: the account's opaque id and the copy, never PII.
fn context(user_id: &str, copy: SealedBy) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "idv-profile")
        .with("user", user_id)
        .with("copy", copy.as_str())
}

fn record(user_id: &str, copy: SealedBy) -> String {
    format!("USER#{user_id}#IDV_PROFILE#{}", copy.as_str())
}

fn associated_data(user_id: &str, copy: SealedBy, header: &[u8]) -> Vec<u8> {
    let mut aad = AAD_LABEL.to_vec();
    for part in [user_id.as_bytes(), copy.as_str().as_bytes()] {
        aad.extend_from_slice(&(part.len() as u32).to_be_bytes());
        aad.extend_from_slice(part);
    }
    aad.extend_from_slice(header);
    aad
}

/// The 32-byte sealing key for `secret`, derived on the blocking pool (argon2 is CPU
/// and memory heavy) under the same one-per-CPU limit as password hashing.
async fn derive_key(
    params: HashParams,
    secret: &[u8],
    salt: [u8; SALT_LEN],
) -> Result<Zeroizing<[u8; 32]>, IdvError> {
    let hasher = params.hasher().map_err(|_| IdvError::Params)?;
    let secret = Zeroizing::new(secret.to_vec());
    on_blocking_pool(move || {
        let mut key = Zeroizing::new([0u8; 32]);
        hasher
            .hash_password_into(&secret, &salt, key.as_mut())
            .map(|()| key)
            .map_err(|_| IdvError::Params)
    })
    .await?
}

/// The AES key of a copy of `format`: argon2's output, peppered for version 2.
async fn copy_key(
    envelope: &Envelope,
    format: u8,
    params: HashParams,
    secret: &[u8],
    salt: [u8; SALT_LEN],
) -> Result<Zeroizing<[u8; 32]>, IdvError> {
    let derived = derive_key(params, secret, salt).await?;
    match format {
        FORMAT_V1 => Ok(derived),
        FORMAT_V2 => pepper(
            envelope.key_service().as_ref(),
            PepperUse::IdvPasswordCopy,
            &derived,
        )
        .await
        .map_err(|e| PasswordHashError::from(e).into()),
        _ => Err(IdvError::Malformed),
    }
}

/// The format a new copy is sealed in.
fn format_for(copy: SealedBy) -> u8 {
    match copy {
        SealedBy::Password => FORMAT_V2,
        SealedBy::PersonalKey => FORMAT_V1,
    }
}

/// Seals `pii` for `user_id`'s `copy` under `secret`, with a fresh salt and nonce.
pub async fn seal(
    envelope: &Envelope,
    random: &dyn Random,
    params: &HashParams,
    user_id: &str,
    copy: SealedBy,
    secret: &[u8],
    pii: &Pii,
) -> Result<SealedPii, IdvError> {
    let salt = random.array::<SALT_LEN>();
    let format = format_for(copy);
    let key = copy_key(envelope, format, *params, secret, salt).await?;
    let mut inner = Vec::with_capacity(HEADER_LEN + aead::NONCE_LEN + 512);
    inner.push(format);
    for n in [params.m_cost_kib, params.t_cost, params.p_cost] {
        inner.extend_from_slice(&n.to_be_bytes());
    }
    inner.extend_from_slice(&salt);
    let aad = associated_data(user_id, copy, &inner);
    let nonce = random.array::<{ aead::NONCE_LEN }>();
    inner.extend_from_slice(&nonce);
    inner.extend(aead::encrypt(&key, &nonce, &aad, &pii.to_json()));
    let sealed = envelope
        .seal(&context(user_id, copy), &record(user_id, copy), &inner)
        .await?;
    Ok(SealedPii(sealed))
}

/// The inner header of a copy, once the envelope opened it.
struct Inner<'a> {
    format: u8,
    params: HashParams,
    salt: [u8; SALT_LEN],
    header: &'a [u8],
    nonce: &'a [u8; aead::NONCE_LEN],
    ciphertext: &'a [u8],
}

fn parse(inner: &[u8]) -> Option<Inner<'_>> {
    let (header, rest) = inner.split_at_checked(HEADER_LEN)?;
    let (&format, fields) = header.split_first()?;
    if format != FORMAT_V1 && format != FORMAT_V2 {
        return None;
    }
    let (m, fields) = fields.split_first_chunk::<4>()?;
    let (t, fields) = fields.split_first_chunk::<4>()?;
    let (p, salt) = fields.split_first_chunk::<4>()?;
    let (nonce, ciphertext) = rest.split_first_chunk::<{ aead::NONCE_LEN }>()?;
    if ciphertext.len() < aead::TAG_LEN {
        return None;
    }
    Some(Inner {
        format,
        params: HashParams {
            m_cost_kib: u32::from_be_bytes(*m),
            t_cost: u32::from_be_bytes(*t),
            p_cost: u32::from_be_bytes(*p),
        },
        salt: <[u8; SALT_LEN]>::try_from(salt).ok()?,
        header,
        nonce,
        ciphertext,
    })
}

/// Opens what [`seal`] made for the same account and copy. `Ok(None)` when `secret` is
/// not the one it was sealed under; an `Err` is never a wrong secret (another account's
/// copy, tampering, the key service failing, or an unknown format).
pub async fn open(
    envelope: &Envelope,
    user_id: &str,
    copy: SealedBy,
    secret: &[u8],
    sealed: &SealedPii,
) -> Result<Option<Pii>, IdvError> {
    let inner = envelope
        .open(&context(user_id, copy), &record(user_id, copy), &sealed.0)
        .await?;
    let parsed = parse(&inner).ok_or(IdvError::Malformed)?;
    // The costs come from inside the envelope, which authenticated them: they are ours.
    let key = copy_key(envelope, parsed.format, parsed.params, secret, parsed.salt).await?;
    let aad = associated_data(user_id, copy, parsed.header);
    let Some(json) = aead::decrypt(&key, parsed.nonce, &aad, parsed.ciphertext) else {
        return Ok(None);
    };
    Pii::from_json(&json).map(Some).ok_or(IdvError::Malformed)
}

/// The KDF costs a copy was sealed with (to re-seal copies made with older costs).
pub async fn params_of(
    envelope: &Envelope,
    user_id: &str,
    copy: SealedBy,
    sealed: &SealedPii,
) -> Result<HashParams, IdvError> {
    let inner = envelope
        .open(&context(user_id, copy), &record(user_id, copy), &sealed.0)
        .await?;
    parse(&inner).map(|i| i.params).ok_or(IdvError::Malformed)
}

#[cfg(all(test, feature = "embedded"))]
pub(crate) mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::SystemClock;
    use crate::envelope::{CacheLimits, EnvelopeError};
    use crate::idv::pii::Address;
    use crate::keys::local::LocalKeyService;
    use crate::random::OsRandom;

    /// Small argon2 costs for tests: the format and the code path are the production ones.
    pub(crate) const FAST: HashParams = HashParams {
        m_cost_kib: 1024,
        t_cost: 1,
        p_cost: 1,
    };

    pub(crate) fn sample_pii() -> Pii {
        Pii {
            given_name: "Zyxwvutsra".into(),
            family_name: "Quetzalcoatlus".into(),
            birthdate: "1984-07-19".into(),
            address: Address {
                line1: "1600 Pennsylvania Ave".into(),
                line2: String::new(),
                city: "Washington".into(),
                state: "DC".into(),
                zip: "20500".into(),
            },
            id_number: "K9Q8W7E6".into(),
            id_state: "DC".into(),
            ssn: "900112233".into(),
            phone: "+12025550143".into(),
            verified_ms: 1_800_000_000_000,
        }
    }

    fn envelope() -> (tempfile::TempDir, Envelope) {
        let dir = tempfile::tempdir().unwrap();
        let keys = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).unwrap();
        let env = Envelope::new(
            Arc::new(keys),
            Arc::new(SystemClock),
            Arc::new(OsRandom),
            CacheLimits::default(),
        );
        (dir, env)
    }

    const SECRET: &[u8] = b"glacier umbrella tractor whisper";

    /// The sample identity sealed for `u-1` under [`SECRET`], as its `by` copy.
    async fn sealed_sample(env: &Envelope, by: SealedBy) -> SealedPii {
        seal(env, &OsRandom, &FAST, "u-1", by, SECRET, &sample_pii())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn given_a_sealed_copy_when_opened_with_its_secret_then_the_pii_comes_back() {
        let (_dir, env) = envelope();
        let sealed = sealed_sample(&env, SealedBy::Password).await;
        let opened = open(&env, "u-1", SealedBy::Password, SECRET, &sealed)
            .await
            .unwrap();
        assert_eq!(opened, Some(sample_pii()));
        assert_eq!(
            params_of(&env, "u-1", SealedBy::Password, &sealed)
                .await
                .unwrap(),
            FAST
        );
    }

    #[tokio::test]
    async fn given_a_sealed_copy_when_opened_with_another_secret_then_nothing() {
        let (_dir, env) = envelope();
        let sealed = sealed_sample(&env, SealedBy::Password).await;
        for wrong in [&b"glacier umbrella tractor whispeR"[..], b"", b"glacier"] {
            let opened = open(&env, "u-1", SealedBy::Password, wrong, &sealed)
                .await
                .unwrap();
            assert_eq!(opened, None);
        }
    }

    #[tokio::test]
    async fn given_a_copy_when_opened_as_another_account_or_copy_then_the_envelope_refuses() {
        let (_dir, env) = envelope();
        let sealed = sealed_sample(&env, SealedBy::Password).await;
        let other_user = open(&env, "u-2", SealedBy::Password, SECRET, &sealed).await;
        assert!(
            matches!(other_user, Err(IdvError::Sealing(EnvelopeError::Rejected))),
            "{other_user:?}"
        );
        let other_copy = open(&env, "u-1", SealedBy::PersonalKey, SECRET, &sealed).await;
        assert!(
            matches!(other_copy, Err(IdvError::Sealing(EnvelopeError::Rejected))),
            "{other_copy:?}"
        );
    }

    #[tokio::test]
    async fn given_an_inner_blob_with_rewritten_costs_when_opened_then_it_does_not_open() {
        // The envelope is what stops an outsider; this checks that the header is also
        // bound by GCM, so a bug that rewrote it could not go unnoticed.
        let (_dir, env) = envelope();
        let sealed = sealed_sample(&env, SealedBy::Password).await;
        let ctx = context("u-1", SealedBy::Password);
        let rec = record("u-1", SealedBy::Password);
        let mut inner = env.open(&ctx, &rec, sealed.as_bytes()).await.unwrap();
        assert_eq!(inner[0], FORMAT_V2);
        // Bytes 5..9 are t_cost: 1 becomes 2.
        assert_eq!(inner[5..9], [0, 0, 0, 1]);
        inner[8] = 2;
        let resealed = SealedPii(env.seal(&ctx, &rec, &inner).await.unwrap());
        let opened = open(&env, "u-1", SealedBy::Password, SECRET, &resealed)
            .await
            .unwrap();
        assert_eq!(opened, None);
        // An unknown version is malformed, not a wrong secret.
        inner[0] = 9;
        let unknown = SealedPii(env.seal(&ctx, &rec, &inner).await.unwrap());
        let opened = open(&env, "u-1", SealedBy::Password, SECRET, &unknown).await;
        assert!(matches!(opened, Err(IdvError::Malformed)), "{opened:?}");
    }

    #[tokio::test]
    async fn given_a_password_copy_when_the_mac_key_differs_then_the_password_does_not_open_it() {
        // Given a password copy, and a key service with the same root keys (the envelope
        // opens) but another MAC key: someone holding every data key, not the pepper
        let (dir, env) = envelope();
        let sealed = sealed_sample(&env, SealedBy::Password).await;
        let (_other, thief) = crate::keys::local::same_root_keys_other_mac(dir.path());
        // Then even the right password does not open it there
        assert_eq!(
            params_of(&thief, "u-1", SealedBy::Password, &sealed)
                .await
                .unwrap(),
            FAST
        );
        let opened = open(&thief, "u-1", SealedBy::Password, SECRET, &sealed)
            .await
            .unwrap();
        assert_eq!(opened, None);
        assert_eq!(
            open(&env, "u-1", SealedBy::Password, SECRET, &sealed)
                .await
                .unwrap(),
            Some(sample_pii())
        );
        // The personal-key copy (80 random bits) is not peppered: version 1
        let by_key = sealed_sample(&env, SealedBy::PersonalKey).await;
        let ctx = context("u-1", SealedBy::PersonalKey);
        let rec = record("u-1", SealedBy::PersonalKey);
        assert_eq!(
            env.open(&ctx, &rec, by_key.as_bytes()).await.unwrap()[0],
            FORMAT_V1
        );
    }

    #[tokio::test]
    async fn given_a_password_copy_from_before_the_pepper_when_opened_then_its_password_opens_it() {
        // Given a version-1 password copy, as sealed before the pepper
        let (_dir, env) = envelope();
        let salt = [7u8; SALT_LEN];
        let key = derive_key(FAST, SECRET, salt).await.unwrap();
        let mut inner = vec![FORMAT_V1];
        for n in [FAST.m_cost_kib, FAST.t_cost, FAST.p_cost] {
            inner.extend_from_slice(&n.to_be_bytes());
        }
        inner.extend_from_slice(&salt);
        let aad = associated_data("u-1", SealedBy::Password, &inner);
        let nonce = [9u8; aead::NONCE_LEN];
        inner.extend_from_slice(&nonce);
        inner.extend(aead::encrypt(&key, &nonce, &aad, &sample_pii().to_json()));
        let ctx = context("u-1", SealedBy::Password);
        let rec = record("u-1", SealedBy::Password);
        let old = SealedPii(env.seal(&ctx, &rec, &inner).await.unwrap());
        // Then the password still opens it, and a wrong one does not
        let opened = open(&env, "u-1", SealedBy::Password, SECRET, &old)
            .await
            .unwrap();
        assert_eq!(opened, Some(sample_pii()));
        let opened = open(&env, "u-1", SealedBy::Password, b"glacier", &old)
            .await
            .unwrap();
        assert_eq!(opened, None);
    }

    #[tokio::test]
    async fn given_two_seals_of_the_same_pii_when_compared_then_salts_and_bytes_differ() {
        let (_dir, env) = envelope();
        let a = sealed_sample(&env, SealedBy::Password).await;
        let b = sealed_sample(&env, SealedBy::Password).await;
        assert_ne!(a, b);
        assert!(!a.as_bytes().windows(10).any(|w| w == b"Zyxwvutsra"));
        assert_eq!(
            format!("{a:?}"),
            format!("SealedPii({} bytes)", a.as_bytes().len())
        );
    }

    #[tokio::test]
    async fn given_the_default_costs_when_sealing_then_they_are_the_password_costs() {
        let (_dir, env) = envelope();
        let params = HashParams::default();
        let started = std::time::Instant::now();
        let sealed = seal(
            &env,
            &OsRandom,
            &params,
            "u-1",
            SealedBy::PersonalKey,
            SECRET,
            &sample_pii(),
        )
        .await
        .unwrap();
        assert_eq!(
            params_of(&env, "u-1", SealedBy::PersonalKey, &sealed)
                .await
                .unwrap(),
            params
        );
        assert!(params.m_cost_kib >= 19 * 1024);
        // One derivation at OWASP cost: well under a second with argon2 optimised.
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }
}
