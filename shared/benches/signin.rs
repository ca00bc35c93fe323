//! The CPU of a sign-in, split into argon2 and everything else (docs/performance.md, "Sign-in
//! CPU split"), on the embedded adapters with the data-key cache warm:
//!
//! - `signin/authenticate`: `Accounts::authenticate` with the right password, at the
//!   production cost (`HashParams::default()`): address parse, fingerprint, two store reads,
//!   the envelope open of the sealed hash, argon2 on the blocking pool.
//! - `signin/argon2_verify`: argon2's own verification of a PHC hash at the same cost, on
//!   the bench thread: argon2 and nothing else.
//! - `signin/burn_equal_time`: what an unknown address pays instead (`password_hash::
//!   burn_equal_time`): the same argon2 work and pepper, plus the hop to the blocking pool.
//! - `signin_rest/authenticate_tiny_hash`: the same `authenticate`, for an account hashed
//!   (and an `Accounts` configured) at argon2's minimum cost (8 KiB, one pass): everything
//!   else, measured directly, with a few microseconds of argon2 left in.
//! - `signin_rest/burn_equal_time_tiny`: `burn_equal_time` at that minimum cost: the hop to
//!   the blocking pool (permit, task, wake-up) with next to no argon2 in it.
//! - `signin_rest/handler_writes`: what the sign-in page does around `authenticate` on a
//!   success: count the attempt (`SIGN_IN_FAILURES`), reset the count, start the pending
//!   session.
//!
//! Read "everything else" from `signin_rest`, not from `authenticate` − `argon2_verify`:
//! that is the difference of two ~25 ms figures taken seconds apart, and on a shared
//! machine they drift by far more than the ~0.1 ms it is after.
//!
//! The argon2 benches take ~25 ms an iteration, so they use flat sampling: 30 samples of at
//! least one iteration each, instead of criterion's linear ramp (465 iterations at least).

mod support;

use std::hint::black_box;
use std::sync::Arc;

use argon2::{Algorithm, Argon2, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use passerelle::account::accounts::{Accounts, SignupStart};
use passerelle::account::email::EmailAddress;
use passerelle::account::events::EventContext;
use passerelle::account::password_hash::{self, HashParams, OUTPUT_LEN};
use passerelle::clock::{Clock, SystemClock};
use passerelle::envelope::{CacheLimits, Envelope};
use passerelle::keys::local::LocalKeyService;
use passerelle::random::{OsRandom, Random};
use passerelle::ratelimit::{RateLimiter, SIGN_IN_FAILURES, compound_subject};
use passerelle::session::{SessionPolicy, Sessions};
use passerelle::sqlite::Db;
use passerelle::store::Store;
use passerelle::store::embedded::EmbeddedStore;

const PASSWORD: &str = "correct horse battery staple";

/// argon2id's minimum cost: 8 KiB (8 blocks for one lane), one pass.
const TINY: HashParams = HashParams {
    m_cost_kib: 8,
    t_cost: 1,
    p_cost: 1,
};

/// Signs `address` up with [`PASSWORD`], hashed at `accounts`' cost; returns the user id.
async fn register(accounts: &Accounts, address: &str) -> String {
    let email = EmailAddress::parse(address).expect("address");
    let SignupStart::Confirm(token) = accounts.begin_signup(&email, "en").await.expect("link")
    else {
        panic!("{address} is new");
    };
    accounts
        .complete_signup(&token, PASSWORD, &EventContext::default())
        .await
        .expect("sign-up")
        .id
}

fn signin(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::new(
        Db::in_dir(dir.path()).expect("database"),
        Arc::clone(&clock),
    ));
    let keys = Arc::new(LocalKeyService::open(dir.path(), Arc::new(OsRandom)).expect("root key"));
    let envelope = Arc::new(Envelope::new(
        keys,
        Arc::clone(&clock),
        Arc::clone(&random),
        CacheLimits::default(),
    ));
    let accounts_at = |hash| {
        Accounts::new(
            Arc::clone(&store),
            Arc::clone(&envelope),
            Arc::clone(&clock),
            Arc::clone(&random),
            hash,
        )
    };
    let production = HashParams::default();
    let accounts = rt.block_on(accounts_at(production)).expect("accounts");
    let tiny = rt.block_on(accounts_at(TINY)).expect("accounts");
    let user = rt.block_on(register(&accounts, "jane@example.gov"));
    rt.block_on(register(&tiny, "tiny@example.gov"));
    // Both sign in, with no rehash (each hash is at its `Accounts`' cost); this also
    // leaves the data keys of both seals in the cache.
    for (accounts, address) in [(&accounts, "jane@example.gov"), (&tiny, "tiny@example.gov")] {
        rt.block_on(accounts.authenticate(address, PASSWORD))
            .expect("right password");
    }

    // The same argon2 work as the stored hash: a PHC string at the production cost.
    let hasher = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        argon2::Params::new(
            production.m_cost_kib,
            production.t_cost,
            production.p_cost,
            Some(OUTPUT_LEN),
        )
        .expect("params"),
    );
    let phc = hasher
        .hash_password_with_salt(PASSWORD.as_bytes(), b"passerelle-bench")
        .expect("hash")
        .to_string();
    let stored = PasswordHash::new(&phc).expect("PHC string");

    let limiter = RateLimiter::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        accounts.fingerprints().subkey("ratelimit"),
    );
    let sessions = Sessions::new(
        Arc::clone(&store),
        Arc::clone(&clock),
        Arc::clone(&random),
        SessionPolicy::default(),
    );
    let subject = compound_subject(&["jane@example.gov", "local"]);

    let mut group = c.benchmark_group("signin");
    group.sampling_mode(SamplingMode::Flat);
    group.bench_function("authenticate", |b| {
        b.to_async(&rt).iter(|| async {
            accounts
                .authenticate(black_box("jane@example.gov"), black_box(PASSWORD))
                .await
                .expect("right password")
        });
    });
    group.bench_function("argon2_verify", |b| {
        b.iter(|| {
            Argon2::default()
                .verify_password(black_box(PASSWORD.as_bytes()), black_box(&stored))
                .expect("right password");
        });
    });
    group.bench_function("burn_equal_time", |b| {
        b.to_async(&rt).iter(|| async {
            password_hash::burn_equal_time(&envelope, &production, black_box(PASSWORD)).await;
        });
    });
    group.finish();

    let mut group = c.benchmark_group("signin_rest");
    group.bench_function("authenticate_tiny_hash", |b| {
        b.to_async(&rt).iter(|| async {
            tiny.authenticate(black_box("tiny@example.gov"), black_box(PASSWORD))
                .await
                .expect("right password")
        });
    });
    group.bench_function("burn_equal_time_tiny", |b| {
        b.to_async(&rt).iter(|| async {
            password_hash::burn_equal_time(&envelope, &TINY, black_box(PASSWORD)).await;
        });
    });
    group.bench_function("handler_writes", |b| {
        b.to_async(&rt).iter(|| async {
            limiter
                .hit(&SIGN_IN_FAILURES, &subject)
                .await
                .expect("not limited");
            limiter
                .reset(&SIGN_IN_FAILURES, &subject)
                .await
                .expect("reset");
            sessions.start_pending(&user).await.expect("session")
        });
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = support::short_runs();
    targets = signin
}
criterion_main!(benches);
