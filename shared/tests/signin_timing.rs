//! ACC-3: a sign-in takes the same time whether the address has an account or not.
//!
//! `Accounts::authenticate` (what `POST /sign-in` calls) is timed at the production argon2
//! cost (`HashParams::default()`; the dev profile builds argon2 and blake2 optimised) for
//! four ways of being wrong, all of which must also give the same answer
//! (`InvalidCredentials`):
//!
//! - (a) an existing account, wrong password: the reference;
//! - (b) an unknown, well-formed address;
//! - (c) an address that does not parse;
//! - (d) an account whose password was disabled ("this wasn't me", ACC-8);
//!
//! plus a **positive control**, (e): an existing account whose stored hash was made with
//! one argon2 pass instead of two (`t_cost = 1`), about half the work. It stands for the
//! leak this test exists to catch (a path that skips or shortens argon2), measured in the
//! same run on the same machine: the test shows it can see such a leak here and now.
//!
//! ## Method
//!
//! 1. **Interleaved rounds.** Each round times one call of every case, in a fresh random
//!    order (seeded, so reproducible). The calls of one round run within ~150 ms of each
//!    other and share the machine's load at that moment; no case always follows the same
//!    one. [`WARM_UP_ROUNDS`] rounds are discarded first (the data-key cache fills, the
//!    blocking pool spawns its threads), then [`ROUNDS`] rounds are kept: ~5 s on an idle
//!    2-core machine, ~8 s with other builds keeping both cores busy.
//! 2. **Paired test.** Each case is compared with (a) round by round: `d = ln(case / a)`
//!    per round, and a two-sided Wilcoxon signed-rank test of "the `d` are centred on 0"
//!    (normal approximation, with tie and continuity corrections). Pairing cancels what a
//!    round's calls share, which on a shared machine is most of the noise: in one run
//!    here with other builds on both cores (1-minute load ≈ 2), the calls' spread (MAD)
//!    was 15–25% of a sign-in and the medians of two harmless cases differed by 15%, while
//!    their paired ratio was 1.02. Ranks make it indifferent to a few calls stretched by a
//!    load spike, and it assumes no distribution.
//! 3. **Decision.** A case is *different* from (a) only when **both** hold:
//!    - the signed-rank test rejects "same time" at p < [`ALPHA`] (0.001), and
//!    - the median paired ratio `exp(median d)` is off 1 by more than [`MAX_GAP`] (15%).
//!
//!    The significance level keeps chance from failing the test; the effect-size gate keeps
//!    a real but harmless gap from failing it. Such a gap exists by design: (a) and (d) read
//!    two items and (a) opens a sealed hash, (b) reads one, (c) none. In this debug build
//!    that is ~0.4 ms, 1–2% of a sign-in, more when a busy machine delays each store call's
//!    hop to the blocking pool (about 0.1 ms in the release build: docs/performance.md),
//!    small but consistent, so "significant" on a quiet machine. What the gate lets through
//!    is a leak under 15% of a sign-in; what it catches is any path that skips or halves
//!    argon2.
//!
//! The test fails as soon as (b), (c) or (d) is *different* from (a). The control (e) must
//! be *different*: when it is not, the run could not resolve a halving (an overloaded
//! machine compresses the ratios) and proves nothing either way, so the measurement is
//! repeated, up to [`ATTEMPTS`] times in all, and the test fails if none is conclusive.
//! No absolute duration is part of any decision, only ranks and ratios.
//!
//! The self-checks at the end of this file run the same statistic on synthetic rounds
//! with known answers, 500 seeded trials for each of three noise models (quiet; busy;
//! very busy: a round-wide load factor, per-call jitter, and calls stretched 1.5–4 times
//! by spikes). They never call two cases of equal cost different; they always flag no
//! work and double the work, and half the work in all but at most 5 of the very busy
//! trials (1 as seeded). Even noisier (load σ 0.4, jitter 25%, 30% spikes) the count of
//! false alarms stays at 0 while halvings are missed 1 time in 20, which the second
//! attempt covers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle::account::accounts::{AccountError, Accounts, SignupStart};
use passerelle::account::email::EmailAddress;
use passerelle::account::events::EventContext;
use passerelle::account::password_hash::HashParams;
use passerelle::clock::{Clock, SystemClock};
use passerelle::config::EmbeddedConfig;
use passerelle::envelope::Envelope;
use passerelle::random::{OsRandom, Random};
use passerelle::services::Services;
use passerelle::store::Store;

/// Rounds timed and kept: 40 samples per case.
const ROUNDS: usize = 40;
/// Rounds run first and thrown away.
const WARM_UP_ROUNDS: usize = 3;
/// Measurements tried until the control shows the run can resolve a halving.
const ATTEMPTS: usize = 2;
/// Significance level of the signed-rank test.
const ALPHA: f64 = 0.001;
/// The largest paired ratio gap (as a share of the reference) that is not a leak.
const MAX_GAP: f64 = 0.15;

const GOOD: &str = "correct horse battery staple";
const WRONG: &str = "wrong horse battery staple";

// --- The statistic ---------------------------------------------------------------------

/// One case against the reference, over the same rounds.
#[derive(Debug, Clone, Copy)]
struct Comparison {
    /// `exp(median ln(case / reference))`: the typical case-to-reference ratio of a round.
    ratio: f64,
    /// Two-sided p-value of the Wilcoxon signed-rank test of the log-ratios.
    p: f64,
}

impl Comparison {
    fn different(&self) -> bool {
        self.p < ALPHA && (self.ratio - 1.0).abs() > MAX_GAP
    }
}

/// Compares `other` with `reference`, sample `i` of each from round `i`.
fn compare(reference: &[f64], other: &[f64]) -> Comparison {
    assert_eq!(reference.len(), other.len(), "one sample per round");
    let d: Vec<f64> = reference
        .iter()
        .zip(other)
        .map(|(r, x)| (x / r).ln())
        .collect();
    Comparison {
        ratio: median(&d).exp(),
        p: signed_rank_p(&d),
    }
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    assert!(n > 0, "no samples");
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Median absolute deviation: the spread, reported alongside the medians.
fn mad(samples: &[f64]) -> f64 {
    let m = median(samples);
    let deviations: Vec<f64> = samples.iter().map(|x| (x - m).abs()).collect();
    median(&deviations)
}

/// Two-sided p-value of the Wilcoxon signed-rank test of "`d` is centred on 0": zeros
/// dropped, average ranks for ties, normal approximation (good from ~20 pairs) with the
/// tie correction of the variance and a continuity correction.
fn signed_rank_p(d: &[f64]) -> f64 {
    let mut nonzero: Vec<f64> = d.iter().copied().filter(|v| *v != 0.0).collect();
    nonzero.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    let n = nonzero.len();
    // W+ sums the (1-based) ranks of the positive differences; `ties` sums t^3 - t over
    // each run of t equal magnitudes.
    let (mut w_plus, mut ties) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && nonzero[j].abs() == nonzero[i].abs() {
            j += 1;
        }
        let run = (j - i) as f64;
        let rank = (i + j + 1) as f64 / 2.0;
        w_plus += rank * nonzero[i..j].iter().filter(|v| **v > 0.0).count() as f64;
        ties += run * run * run - run;
        i = j;
    }
    let n = n as f64;
    let mean = n * (n + 1.0) / 4.0;
    let variance = n * (n + 1.0) * (2.0 * n + 1.0) / 24.0 - ties / 48.0;
    if variance <= 0.0 {
        return 1.0; // no nonzero difference: no evidence at all
    }
    let z = ((w_plus - mean).abs() - 0.5).max(0.0) / variance.sqrt();
    erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function (Numerical Recipes' `erfcc`, fractional error under
/// 1.2e-7): the two-sided normal tail beyond `|z|` is `erfc(|z| / sqrt 2)`.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// A small deterministic generator (SplitMix64): the order of the rounds and the
/// self-checks are reproducible.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

// --- The measurement -------------------------------------------------------------------

struct World {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    envelope: Arc<Envelope>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    accounts: Accounts,
}

async fn world(hash: HashParams) -> World {
    let dir = tempfile::tempdir().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let random: Arc<dyn Random> = Arc::new(OsRandom);
    // The embedded adapters, as the local stack builds them.
    let services = Services::embedded(
        &EmbeddedConfig {
            data_dir: dir.path().to_path_buf(),
            max_receives: 5,
        },
        Arc::clone(&clock),
        Arc::clone(&random),
    )
    .unwrap();
    let store = Arc::clone(&services.store);
    let envelope = Arc::clone(&services.envelope);
    let accounts = accounts_with(&store, &envelope, &clock, &random, hash).await;
    World {
        _dir: dir,
        store,
        envelope,
        clock,
        random,
        accounts,
    }
}

/// Another `Accounts` over the same store and keys (so the same fingerprint key).
async fn accounts_with(
    store: &Arc<dyn Store>,
    envelope: &Arc<Envelope>,
    clock: &Arc<dyn Clock>,
    random: &Arc<dyn Random>,
    hash: HashParams,
) -> Accounts {
    Accounts::new(
        Arc::clone(store),
        Arc::clone(envelope),
        Arc::clone(clock),
        Arc::clone(random),
        hash,
    )
    .await
    .unwrap()
}

/// Signs `address` up with the password `GOOD`, hashed at `accounts`' cost.
async fn register(accounts: &Accounts, address: &str) -> String {
    let email = EmailAddress::parse(address).unwrap();
    let SignupStart::Confirm(token) = accounts.begin_signup(&email, "en").await.unwrap() else {
        panic!("{address} is new");
    };
    accounts
        .complete_signup(&token, GOOD, &EventContext::default())
        .await
        .unwrap()
        .id
}

/// The cases, in the order of the module notes: (a) is the reference, (e) the control.
const CASES: [(&str, &str); 5] = [
    ("(a) existing account, wrong password", "jane@example.gov"),
    ("(b) unknown address", "nobody@example.gov"),
    ("(c) address that does not parse", "not an address"),
    ("(d) account with its password disabled", "gone@example.gov"),
    ("(e) control: hash with half the work", "half@example.gov"),
];

/// One timed sign-in, which must fail like every other (same answer).
async fn time_one(accounts: &Accounts, email: &str) -> Duration {
    let start = Instant::now();
    let result = accounts.authenticate(email, WRONG).await;
    let elapsed = start.elapsed();
    assert!(
        matches!(result, Err(AccountError::InvalidCredentials)),
        "{email}: {result:?}"
    );
    elapsed
}

/// Times [`ROUNDS`] interleaved rounds; `samples[k][i]` is case `k`'s time in round `i`.
async fn measure(accounts: &Accounts, rng: &mut Rng) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::with_capacity(ROUNDS); CASES.len()];
    let mut order: Vec<usize> = (0..CASES.len()).collect();
    for round in 0..WARM_UP_ROUNDS + ROUNDS {
        rng.shuffle(&mut order);
        for &k in &order {
            let elapsed = time_one(accounts, CASES[k].1).await;
            if round >= WARM_UP_ROUNDS {
                samples[k].push(elapsed.as_secs_f64());
            }
        }
    }
    samples
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_takes_as_long_whatever_the_address() {
    // Given accounts at the production argon2 cost
    let production = HashParams::default();
    let w = world(production).await;
    register(&w.accounts, "jane@example.gov").await;
    // And an account whose password its owner disabled ("this wasn't me")
    let gone = register(&w.accounts, "gone@example.gov").await;
    let link = w.accounts.not_me_link(&gone).await.unwrap();
    w.accounts
        .report_not_me(&link, &EventContext::default())
        .await
        .unwrap();
    // And the control: an account hashed with one pass instead of two
    let half = HashParams {
        t_cost: 1,
        ..production
    };
    let half_accounts = accounts_with(&w.store, &w.envelope, &w.clock, &w.random, half).await;
    register(&half_accounts, "half@example.gov").await;
    drop(half_accounts);
    // (The right password works: (a) really is an account.)
    assert!(
        w.accounts
            .authenticate("jane@example.gov", GOOD)
            .await
            .is_ok()
    );

    let mut rng = Rng(u64::from_le_bytes(*b"ACC-3/ts"));
    let mut reports = String::new();
    for attempt in 1..=ATTEMPTS {
        // When each way is timed in interleaved rounds
        let started = Instant::now();
        let samples = measure(&w.accounts, &mut rng).await;
        let took = started.elapsed().as_secs_f64();

        let ms = |s: f64| s * 1000.0;
        let mut report = format!(
            "attempt {attempt}: {ROUNDS} rounds (+{WARM_UP_ROUNDS} warm-up) in {took:.1} s; \
             different = p < {ALPHA} and paired ratio off 1 by > {:.0}%\n",
            MAX_GAP * 100.0
        );
        let mut verdicts = Vec::new();
        for (k, (name, _)) in CASES.iter().enumerate() {
            report += &format!(
                "{name:<40} median {:7.2} ms  MAD {:6.2} ms",
                ms(median(&samples[k])),
                ms(mad(&samples[k])),
            );
            if k > 0 {
                let c = compare(&samples[0], &samples[k]);
                report += &format!(
                    "  ratio {:.3}  p {:.1e}  {}",
                    c.ratio,
                    c.p,
                    if c.different() { "DIFFERENT" } else { "same" }
                );
                verdicts.push(c.different());
            }
            report += "\n";
        }
        eprintln!("{report}");
        reports += &report;

        // Then (b), (c) and (d) are not different from (a) ...
        for (k, different) in verdicts[..3].iter().enumerate() {
            assert!(
                !different,
                "{} leaks through timing:\n{reports}",
                CASES[k + 1].0
            );
        }
        // ... in a run that tells half the work from the whole
        if verdicts[3] {
            return;
        }
    }
    panic!(
        "in {ATTEMPTS} attempts the measurement never told the control (half the argon2 \
         work) from a full verification, so it cannot vouch for the other cases: is the \
         machine overloaded?\n{reports}"
    );
}

// --- Self-checks of the statistic on synthetic rounds -----------------------------------

/// A noise model: how much a round's calls share, and what each call adds on its own.
#[derive(Debug, Clone, Copy)]
struct Noise {
    /// Round-wide load factor, log-normal: the σ of its logarithm.
    load: f64,
    /// Per-call Gaussian jitter, relative.
    jitter: f64,
    /// Share of calls stretched 1.5–4 times by a spike of their own.
    spikes: f64,
}

/// A quiet machine (like the real test's idle runs: a MAD of ~3% of a sign-in), a busy one,
/// and a very busy one (beyond what the real test saw with both cores taken by builds).
const NOISE: [Noise; 3] = [
    Noise {
        load: 0.02,
        jitter: 0.02,
        spikes: 0.0,
    },
    Noise {
        load: 0.15,
        jitter: 0.10,
        spikes: 0.10,
    },
    Noise {
        load: 0.30,
        jitter: 0.15,
        spikes: 0.20,
    },
];

/// [`ROUNDS`] synthetic rounds of two cases, the second `ratio` times the first's cost.
fn synthetic_rounds(rng: &mut Rng, ratio: f64, noise: Noise) -> (Vec<f64>, Vec<f64>) {
    const CENTER: f64 = 0.030;
    let call = |rng: &mut Rng, cost: f64, load: f64| {
        let t = cost * load * (1.0 + noise.jitter * rng.normal()).max(0.05);
        if rng.uniform() < noise.spikes {
            t * (1.5 + 2.5 * rng.uniform())
        } else {
            t
        }
    };
    (0..ROUNDS)
        .map(|_| {
            let load = (noise.load * rng.normal()).exp();
            (call(rng, CENTER, load), call(rng, CENTER * ratio, load))
        })
        .unzip()
}

/// In how many of 500 seeded trials a case `ratio` times the reference's cost is called
/// different from it.
fn flagged(ratio: f64, noise: Noise) -> usize {
    (0..500u64)
        .filter(|seed| {
            let (reference, other) = synthetic_rounds(&mut Rng(*seed), ratio, noise);
            compare(&reference, &other).different()
        })
        .count()
}

#[test]
fn the_statistic_passes_two_cases_of_equal_cost() {
    for noise in NOISE {
        assert_eq!(flagged(1.0, noise), 0, "{noise:?}");
    }
}

#[test]
fn the_statistic_flags_half_the_work_no_work_and_double_the_work() {
    for noise in NOISE {
        assert_eq!(flagged(0.001, noise), 500, "no-op, {noise:?}");
        assert_eq!(flagged(2.0, noise), 500, "double, {noise:?}");
    }
    assert_eq!(flagged(0.5, NOISE[0]), 500);
    assert_eq!(flagged(0.5, NOISE[1]), 500);
    // Very busy, a halving is missed once in a few hundred runs: the real test then
    // measures again (`ATTEMPTS`)
    assert!(flagged(0.5, NOISE[2]) >= 495);
    // On a quiet machine, a path 20% shorter is caught too
    assert_eq!(flagged(0.8, NOISE[0]), 500);
}

#[test]
fn a_small_consistent_gap_is_significant_but_not_a_leak() {
    // A 2% gap (a store read or two) on a very steady machine: the test sees it ...
    let steady = Noise {
        load: 0.05,
        jitter: 0.005,
        spikes: 0.0,
    };
    let (reference, other) = synthetic_rounds(&mut Rng(7), 1.02, steady);
    let c = compare(&reference, &other);
    assert!(c.p < ALPHA, "{c:?}");
    // ... and the effect-size gate lets it through
    assert!(!c.different(), "{c:?}");
}

#[test]
fn the_signed_rank_test_matches_known_values() {
    // No difference at all: no evidence
    assert_eq!(signed_rank_p(&[0.0; 40]), 1.0);
    // 40 differences of one sign: z = (820 - 410 - 0.5) / sqrt(40 * 41 * 81 / 24) = 5.50
    let positive: Vec<f64> = (1..=40).map(f64::from).collect();
    let p = signed_rank_p(&positive);
    assert!(p > 3.0e-8 && p < 4.5e-8, "{p}");
    let negative: Vec<f64> = positive.iter().map(|v| -v).collect();
    assert_eq!(signed_rank_p(&negative), p);
    // Alternating signs of growing size: W+ = 420 of 820, barely off the mean
    let alternating: Vec<f64> = (1..=40)
        .map(|i| {
            if i % 2 == 0 {
                f64::from(i)
            } else {
                -f64::from(i)
            }
        })
        .collect();
    assert!(signed_rank_p(&alternating) > 0.85);
    // The normal tail: erfc(1.959964 / sqrt 2) = 0.05, erfc(0) = 1
    assert!((erfc(1.959_964 / std::f64::consts::SQRT_2) - 0.05).abs() < 1e-6);
    assert!((erfc(0.0) - 1.0).abs() < 1e-6);
    // Medians and spread
    assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    assert_eq!(mad(&[1.0, 2.0, 3.0, 4.0, 100.0]), 1.0);
    // A paired comparison: every round's case takes half the reference's time
    let reference: Vec<f64> = (1..=40).map(|i| f64::from(i) / 1000.0).collect();
    let half: Vec<f64> = reference.iter().map(|r| r / 2.0).collect();
    let c = compare(&reference, &half);
    assert!((c.ratio - 0.5).abs() < 1e-12, "{c:?}");
    assert!(c.different(), "{c:?}");
}
