//! Password hashing (ACC-2, ACC-3): argon2id, then a **pepper** — argon2's output goes
//! through the key service's MAC ([`KeyService::mac`], purpose `pepper-v1`), whose key
//! never leaves the service — to a PHC string, which is then sealed by the envelope under a
//! data key bound to the user. The seal keeps a copied table useless without the key
//! service, and stops moving one user's hash onto another account; the pepper keeps even
//! someone who holds the table *and* the key service's unwrap (so every PHC string) from
//! guessing offline: each guess costs argon2 **and** one audited key-service call.
//!
//! Stored format (the sealed plaintext): `pepper-v1$argon2id$v=19$m=…,t=…,p=…$<salt>$<MAC>`,
//! the PHC string of argon2id whose output field holds the MAC of argon2's output. A hash
//! stored before the pepper (a plain PHC string, `$argon2id$…`) still verifies, once, with
//! argon2 alone, and reports `needs_rehash`: the sign-in that checked it seals a peppered
//! one in its place (`Accounts::authenticate`).
//!
//! argon2 is slow and memory-hungry by design, so it runs on tokio's blocking pool (never on
//! an async worker thread) and at most one hash per CPU runs at a time: more would not
//! finish sooner, only multiply the memory (19 MiB each) a burst of sign-ins could take.

use std::num::NonZero;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, PasswordHash, PasswordVerifier, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

use crate::envelope::{Envelope, EnvelopeError};
use crate::keys::{EncryptionContext, KeyError, KeyService, MacPurpose};
use crate::random::Random;

/// Salt length in bytes: the PHC and RFC 9106 recommendation.
pub const SALT_LEN: usize = 16;
/// Hash output length in bytes.
pub const OUTPUT_LEN: usize = 32;

/// A fixed salt for [`burn_equal_time`]: its work is thrown away, so uniqueness is moot.
const DUMMY_SALT: [u8; SALT_LEN] = *b"passerelle-dummy";

/// What a peppered hash's sealed plaintext starts with, before its PHC string.
const PEPPERED: &str = "pepper-v1";

/// What a pepper is for, inside its MAC, so the password check's value never keys a
/// sealed copy of the identity, and the reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PepperUse {
    /// The stored password hash, compared at sign-in.
    PasswordCheck,
    /// The key that seals the identity's password copy (`idv::seal`).
    IdvPasswordCopy,
}

impl PepperUse {
    fn label(self) -> &'static [u8] {
        match self {
            PepperUse::PasswordCheck => b"password-check",
            PepperUse::IdvPasswordCopy => b"idv-seal/password",
        }
    }
}

/// argon2's output, peppered: the key service's MAC of it for `use_`. One key-service
/// call; without the service, nobody can compute it from a guess.
pub(crate) async fn pepper(
    keys: &dyn KeyService,
    use_: PepperUse,
    argon2_output: &[u8; OUTPUT_LEN],
) -> Result<Zeroizing<[u8; OUTPUT_LEN]>, KeyError> {
    keys.mac_of(MacPurpose::PepperV1, &[use_.label(), argon2_output])
        .await
        .map(Zeroizing::new)
}

/// argon2id's cost. The defaults are OWASP's first recommended configuration (19 MiB,
/// two passes, one lane); raise them, never lower them, outside tests. Verification always
/// uses the parameters stored with each hash, and reports when they differ from these, so
/// raising them upgrades each account at its next sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes over memory.
    pub t_cost: u32,
    /// Lanes (parallelism). Lanes run sequentially in this build: more only costs time.
    pub p_cost: u32,
}

impl Default for HashParams {
    fn default() -> Self {
        Self {
            m_cost_kib: 19 * 1024,
            t_cost: 2,
            p_cost: 1,
        }
    }
}

impl HashParams {
    fn argon2_params(&self) -> Result<argon2::Params, PasswordHashError> {
        argon2::Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(OUTPUT_LEN))
            .map_err(|_| PasswordHashError::Params)
    }

    /// argon2id v19 at these costs, with a [`OUTPUT_LEN`]-byte output: also the key
    /// derivation that seals a verified identity under the password (`idv::seal`).
    pub(crate) fn hasher(&self) -> Result<Argon2<'static>, PasswordHashError> {
        Ok(Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            self.argon2_params()?,
        ))
    }

    /// Whether `stored` was made with anything other than argon2id v19 at these costs and
    /// lengths. "Different", not only "weaker": lowering the configured cost on purpose
    /// (say, for a smaller Lambda) should reach every account too.
    fn differ_from(&self, stored: &PasswordHash) -> bool {
        let Ok(costs) = argon2::Params::try_from(stored) else {
            return true;
        };
        stored.algorithm != ARGON2ID_IDENT
            || stored.version != Some(u32::from(Version::V0x13))
            || costs.m_cost() != self.m_cost_kib
            || costs.t_cost() != self.t_cost
            || costs.p_cost() != self.p_cost
            || stored.salt.as_ref().map(|s| s.len()) != Some(SALT_LEN)
            || stored.hash.as_ref().map(Output::len) != Some(OUTPUT_LEN)
    }
}

/// The outcome of a verification that ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    Mismatch,
    /// The password is right. With `needs_rehash`, the stored hash was made with other
    /// parameters than the configured ones: hash and seal it again now, while the
    /// password is at hand.
    Match {
        needs_rehash: bool,
    },
}

/// What can go wrong besides a wrong password. Messages name no secret and no user.
#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    #[error("the password hashing parameters are invalid")]
    Params,
    #[error("password hashing failed")]
    Hash,
    /// The sealed value opened, but does not hold a usable PHC string.
    #[error("the stored password hash is malformed")]
    Malformed,
    /// The blocking task panicked or the runtime is shutting down.
    #[error("the password hashing task did not complete")]
    Task,
    /// The seal did not open: another user's hash, tampering, or the key service failed.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The key service made no pepper (throttled, unavailable).
    #[error("the password pepper failed: {0}")]
    Pepper(#[from] KeyError),
}

/// What the key service sees (no PII: the user id is an opaque id).
fn context(user_id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "password")
        .with("user", user_id)
}

fn record(user_id: &str) -> String {
    format!("USER#{user_id}#password")
}

/// One permit per CPU (see the module notes).
static HASHING: LazyLock<Arc<Semaphore>> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(1, NonZero::get);
    Arc::new(Semaphore::new(cpus))
});

/// Runs `work` on the blocking pool under a [`HASHING`] permit. The permit moves into the
/// task, so a caller that gives up (a dropped request) still holds its slot until the
/// hash it started really ends.
pub(crate) async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordHashError> {
    let permit = Arc::clone(&HASHING)
        .acquire_owned()
        .await
        .map_err(|_| PasswordHashError::Task)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|_| PasswordHashError::Task)
}

/// A copy of the password the blocking task can own; wiped when the task drops it.
fn owned(password: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(password.as_bytes().to_vec())
}

/// argon2id's raw output for `password` and `salt` at `costs`, on the blocking pool.
async fn argon2_output(
    costs: argon2::Params,
    password: &str,
    salt: Vec<u8>,
) -> Result<Zeroizing<[u8; OUTPUT_LEN]>, PasswordHashError> {
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, costs);
    let password = owned(password);
    on_blocking_pool(move || {
        let mut out = Zeroizing::new([0u8; OUTPUT_LEN]);
        hasher
            .hash_password_into(&password, &salt, out.as_mut())
            .map(|()| out)
            .map_err(|_| PasswordHashError::Hash)
    })
    .await?
}

/// Hashes `password` with a fresh salt from `random`, peppers it and seals the PHC string
/// for `user_id`. Store the result as is; only [`verify_sealed`] reads it.
pub async fn hash_and_seal(
    envelope: &Envelope,
    random: &dyn Random,
    params: &HashParams,
    user_id: &str,
    password: &str,
) -> Result<Vec<u8>, PasswordHashError> {
    let costs = params.argon2_params()?;
    let mut salt = [0u8; SALT_LEN];
    random.fill(&mut salt);
    let raw = argon2_output(costs.clone(), password, salt.to_vec()).await?;
    let peppered = pepper(
        envelope.key_service().as_ref(),
        PepperUse::PasswordCheck,
        &raw,
    )
    .await?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(u32::from(Version::V0x13)),
        params: ParamsString::try_from(&costs).map_err(|_| PasswordHashError::Params)?,
        salt: Some(Salt::new(&salt).map_err(|_| PasswordHashError::Params)?),
        hash: Some(Output::new(peppered.as_ref()).map_err(|_| PasswordHashError::Hash)?),
    };
    // The PasswordHash value keeps the MAC and cannot be wiped; the string made from it is.
    let stored = Zeroizing::new(format!("{PEPPERED}{phc}"));
    Ok(envelope
        .seal(&context(user_id), &record(user_id), stored.as_bytes())
        .await?)
}

/// Opens `sealed` for `user_id` and checks `password` against it: argon2id with the
/// parameters and salt stored with the hash, the pepper (one key-service call), and a
/// constant-time comparison with the stored output. A hash from before the pepper is
/// checked by argon2 alone and, when it matches, always `needs_rehash`.
///
/// An `Err` is never a wrong password: it is a seal made for another user or tampered
/// with, a key service failure, or a malformed value. Treat it as a failed sign-in and log
/// it; it needs looking into.
pub async fn verify_sealed(
    envelope: &Envelope,
    params: &HashParams,
    user_id: &str,
    password: &str,
    sealed: &[u8],
) -> Result<Verified, PasswordHashError> {
    let plaintext = envelope
        .open(&context(user_id), &record(user_id), sealed)
        .await?;
    let text = std::str::from_utf8(&plaintext).map_err(|_| PasswordHashError::Malformed)?;
    let Some(phc) = text.strip_prefix(PEPPERED) else {
        return verify_unpeppered(text, password).await;
    };
    let stored = PasswordHash::new(phc).map_err(|_| PasswordHashError::Malformed)?;
    let needs_rehash = params.differ_from(&stored);
    // Peppered hashes are only ever made with argon2id v19 and a 32-byte output.
    let costs = argon2::Params::try_from(&stored).map_err(|_| PasswordHashError::Malformed)?;
    let (Some(salt), Some(expected)) = (stored.salt.as_ref(), stored.hash.as_ref()) else {
        return Err(PasswordHashError::Malformed);
    };
    if stored.algorithm != ARGON2ID_IDENT
        || stored.version != Some(u32::from(Version::V0x13))
        || expected.len() != OUTPUT_LEN
    {
        return Err(PasswordHashError::Malformed);
    }
    let raw = argon2_output(costs, password, salt.as_ref().to_vec()).await?;
    let peppered = pepper(
        envelope.key_service().as_ref(),
        PepperUse::PasswordCheck,
        &raw,
    )
    .await?;
    let matched: bool = peppered.as_slice().ct_eq(expected.as_bytes()).into();
    Ok(if matched {
        Verified::Match { needs_rehash }
    } else {
        Verified::Mismatch
    })
}

/// A hash stored before the pepper: argon2's own verification (parameters from the
/// stored hash, constant-time comparison). A match must be sealed again, peppered.
async fn verify_unpeppered(phc: &str, password: &str) -> Result<Verified, PasswordHashError> {
    let stored = PasswordHash::new(phc).map_err(|_| PasswordHashError::Malformed)?;
    let password = owned(password);
    let matched = on_blocking_pool(move || {
        // The hasher's own algorithm and parameters are ignored: verification takes them
        // from `stored`, which the envelope authenticated, so they are ours.
        match Argon2::default().verify_password(&password, &stored) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(_) => Err(PasswordHashError::Malformed),
        }
    })
    .await??;
    Ok(if matched {
        Verified::Match { needs_rehash: true }
    } else {
        Verified::Mismatch
    })
}

/// Spends what [`verify_sealed`] spends on argon2 and on the pepper, for a sign-in whose
/// email matches no account, so response time does not tell which emails have one
/// (ACC-3). It derives argon2's output for `password` with a dummy salt at `params`'
/// cost, through the same code path, and has the key service pepper it; the outcome is
/// discarded and nothing can fail visibly.
///
/// It does not stand in for the key service call `verify_sealed` makes to open the hash
/// when its data key is not cached: that cost is the caller's to even out.
pub async fn burn_equal_time(envelope: &Envelope, params: &HashParams, password: &str) {
    let Ok(costs) = params.argon2_params() else {
        return;
    };
    let Ok(raw) = argon2_output(costs, password, DUMMY_SALT.to_vec()).await else {
        return;
    };
    let peppered = pepper(
        envelope.key_service().as_ref(),
        PepperUse::PasswordCheck,
        &raw,
    )
    .await;
    let _ = std::hint::black_box(peppered.map(|p| p.as_slice().ct_eq(&[0u8; OUTPUT_LEN])));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small memory keeps the tests fast; the costs still differ from the defaults.
    pub(super) const FAST: HashParams = HashParams {
        m_cost_kib: 1024,
        t_cost: 2,
        p_cost: 1,
    };

    #[test]
    fn given_the_defaults_when_read_then_they_meet_owasp() {
        let params = HashParams::default();
        assert!(params.m_cost_kib >= 19_456, "{params:?}");
        assert!(params.t_cost >= 2, "{params:?}");
        assert!(params.p_cost >= 1, "{params:?}");
        assert!(params.hasher().is_ok());
    }

    #[test]
    fn given_impossible_params_when_hashing_then_params_error() {
        let params = HashParams {
            m_cost_kib: 1,
            ..FAST
        };
        assert!(matches!(params.hasher(), Err(PasswordHashError::Params)));
    }

    #[test]
    fn given_stored_hashes_when_compared_then_only_the_configured_ones_need_no_rehash() {
        let same = "$argon2id$v=19$m=1024,t=2,p=1$cGFzc2VyZWxsZS1kdW1teQ$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let weaker = "$argon2id$v=19$m=1024,t=1,p=1$cGFzc2VyZWxsZS1kdW1teQ$\
                      AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let argon2i = "$argon2i$v=19$m=1024,t=2,p=1$cGFzc2VyZWxsZS1kdW1teQ$\
                       AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let parse = |s| PasswordHash::new(s).expect("a PHC string");
        assert!(!FAST.differ_from(&parse(same)));
        assert!(FAST.differ_from(&parse(weaker)));
        assert!(FAST.differ_from(&parse(argon2i)));
        assert!(HashParams::default().differ_from(&parse(same)));
    }
}

/// The round trips, against the embedded key service.
#[cfg(all(test, feature = "embedded"))]
mod sealed_tests {
    use argon2::PasswordHasher;

    use super::tests::FAST;
    use super::*;
    use crate::clock::SystemClock;
    use crate::envelope::CacheLimits;
    use crate::keys::local::LocalKeyService;
    use crate::random::OsRandom;

    const PASSWORD: &str = "glacier umbrella tractor whisper";

    /// An envelope over a fresh local root key; keep the directory alive while using it.
    fn envelope() -> (tempfile::TempDir, Envelope) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let keys = LocalKeyService::open(dir.path(), Arc::new(OsRandom)).expect("root key");
        let envelope = Envelope::new(
            Arc::new(keys),
            Arc::new(SystemClock),
            Arc::new(OsRandom),
            CacheLimits::default(),
        );
        (dir, envelope)
    }

    #[tokio::test]
    async fn given_a_sealed_hash_when_verifying_the_same_password_then_match() {
        let (_dir, env) = envelope();
        let sealed = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        let verified = verify_sealed(&env, &FAST, "u-1", PASSWORD, &sealed)
            .await
            .expect("verified");
        assert_eq!(
            verified,
            Verified::Match {
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn given_a_sealed_hash_when_verifying_a_wrong_password_then_mismatch() {
        let (_dir, env) = envelope();
        let sealed = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        for wrong in ["glacier umbrella tractor whispeR", "", "glacier"] {
            let verified = verify_sealed(&env, &FAST, "u-1", wrong, &sealed)
                .await
                .expect("verified");
            assert_eq!(verified, Verified::Mismatch);
        }
    }

    #[tokio::test]
    async fn given_a_hash_sealed_for_one_user_when_verified_for_another_then_it_fails() {
        let (_dir, env) = envelope();
        let sealed = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        let result = verify_sealed(&env, &FAST, "u-2", PASSWORD, &sealed).await;
        assert!(
            matches!(
                result,
                Err(PasswordHashError::Envelope(EnvelopeError::Rejected))
            ),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn given_a_hash_with_weaker_params_when_verified_then_needs_rehash() {
        let (_dir, env) = envelope();
        let weaker = HashParams { t_cost: 1, ..FAST };
        let sealed = hash_and_seal(&env, &OsRandom, &weaker, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        let verified = verify_sealed(&env, &FAST, "u-1", PASSWORD, &sealed)
            .await
            .expect("verified");
        assert_eq!(verified, Verified::Match { needs_rehash: true });
        // A wrong password says nothing about the stored parameters.
        let verified = verify_sealed(&env, &FAST, "u-1", "not it at all", &sealed)
            .await
            .expect("verified");
        assert_eq!(verified, Verified::Mismatch);
    }

    #[tokio::test]
    async fn given_sealed_bytes_when_inspected_then_no_phc_string_shows() {
        let (_dir, env) = envelope();
        let sealed = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        let needle = b"$argon2id$";
        assert!(!sealed.windows(needle.len()).any(|w| w == needle));
        assert!(!sealed.windows(7).any(|w| w == b"glacier"));
    }

    #[tokio::test]
    async fn given_two_hashes_of_one_password_when_opened_then_phc_strings_with_own_salts() {
        let (_dir, env) = envelope();
        let a = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        let b = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        let open = |s: Vec<u8>| {
            let env = &env;
            async move {
                env.open(&context("u-1"), &record("u-1"), &s)
                    .await
                    .expect("opens")
            }
        };
        let (a, b) = (open(a).await, open(b).await);
        assert!(a.starts_with(b"pepper-v1$argon2id$v=19$m=1024,t=2,p=1$"));
        assert_ne!(*a, *b);
    }

    /// A hash as stored before the pepper: argon2id's PHC string, sealed.
    async fn unpeppered(
        env: &Envelope,
        params: &HashParams,
        user_id: &str,
        password: &str,
    ) -> Vec<u8> {
        let phc = params
            .hasher()
            .unwrap()
            .hash_password_with_salt(password.as_bytes(), b"an-old-salt-here")
            .unwrap()
            .to_string();
        assert!(phc.starts_with("$argon2id$"));
        env.seal(&context(user_id), &record(user_id), phc.as_bytes())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn given_a_hash_from_before_the_pepper_when_verified_then_it_matches_once_and_must_be_rehashed()
     {
        let (_dir, env) = envelope();
        let old = unpeppered(&env, &FAST, "u-1", PASSWORD).await;
        // The right password matches, and asks for a peppered hash, even at today's costs
        let verified = verify_sealed(&env, &FAST, "u-1", PASSWORD, &old)
            .await
            .unwrap();
        assert_eq!(verified, Verified::Match { needs_rehash: true });
        // A wrong one does not
        let verified = verify_sealed(&env, &FAST, "u-1", "not it at all", &old)
            .await
            .unwrap();
        assert_eq!(verified, Verified::Mismatch);
        // What the rehash stores is peppered, and needs nothing more
        let new = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .unwrap();
        let verified = verify_sealed(&env, &FAST, "u-1", PASSWORD, &new)
            .await
            .unwrap();
        assert_eq!(
            verified,
            Verified::Match {
                needs_rehash: false
            }
        );
    }

    #[tokio::test]
    async fn given_the_root_keys_but_another_mac_key_when_verifying_then_the_right_password_fails()
    {
        // Given a peppered hash, and a second key service with the same root keys (every
        // seal opens) but its own MAC key
        let (dir, env) = envelope();
        let sealed = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .unwrap();
        let (_other, thief) = crate::keys::local::same_root_keys_other_mac(dir.path());
        // The PHC string opens, salt and costs included …
        let phc = thief
            .open(&context("u-1"), &record("u-1"), &sealed)
            .await
            .unwrap();
        assert!(phc.starts_with(b"pepper-v1$argon2id$"));
        // … but without the MAC key even the right password does not match it
        let verified = verify_sealed(&thief, &FAST, "u-1", PASSWORD, &sealed)
            .await
            .unwrap();
        assert_eq!(verified, Verified::Mismatch);
        let verified = verify_sealed(&env, &FAST, "u-1", PASSWORD, &sealed)
            .await
            .unwrap();
        assert!(matches!(verified, Verified::Match { .. }));
    }

    #[tokio::test]
    async fn given_tampered_bytes_when_verified_then_it_fails() {
        let (_dir, env) = envelope();
        let mut sealed = hash_and_seal(&env, &OsRandom, &FAST, "u-1", PASSWORD)
            .await
            .expect("hashed and sealed");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(
            verify_sealed(&env, &FAST, "u-1", PASSWORD, &sealed)
                .await
                .is_err()
        );
    }
}
