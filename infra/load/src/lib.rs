//! Sustained load on the local stack: an open arrival-rate schedule (arrivals do not wait
//! for earlier journeys, as people do not) of a production-like mix through the real pages
//! and the demo agency, for a chosen duration; then a reconciliation of every mail the
//! run queued. `cargo run -p passerelle-load --release -- --help`; docs/performance.md.
#![forbid(unsafe_code)]

pub mod browser;
pub mod journeys;
pub mod report;
pub mod stack;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, Semaphore};

use browser::Browser;
use journeys::{Account, Entry, Refusal};
use report::{Recorder, Sample};
use stack::Stack;

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Journeys started per second.
    pub rate: f64,
    pub duration: Duration,
    /// Accounts made before the clock starts, that the sign-ins and failures use.
    pub pool: usize,
    /// Journeys in flight at most; an arrival beyond it is shed and counted (the sign
    /// that the stack no longer keeps up).
    pub max_in_flight: usize,
    pub sample_every: Duration,
    /// Seeds the mix, so two runs draw the same journeys.
    pub seed: u64,
}

impl Plan {
    /// A pool large enough for `rate`: a sign-in with a code needs an account whose
    /// 30-second step is unused, and about a third of arrivals are such sign-ins.
    pub fn pool_for(rate: f64) -> usize {
        ((rate * 24.0).ceil() as usize).max(32)
    }
}

impl Default for Plan {
    fn default() -> Self {
        Self {
            rate: 10.0,
            duration: Duration::from_secs(60),
            pool: 200,
            max_in_flight: 256,
            sample_every: Duration::from_secs(5),
            seed: 1,
        }
    }
}

/// The mix, per 10,000 arrivals, anchored on Login.gov's measured production mix: 72.6 %
/// sign-ins (54 % of them from a remembered browser, a third of them started at an
/// agency), 8.1 % sign-ups, about 18.5 % failed attempts (half a wrong password, half a
/// wrong code). The 0.18 % of identity verifications and the rest are drawn as sign-ins
/// here: verification's cost is the vendors' and the worker's, measured by the proofing
/// tests, not the pages'.
const SIGN_UP: u64 = 810;
const WRONG_PASSWORD: u64 = 925;
const WRONG_CODE: u64 = 925;
const REMEMBERED_PER_10K_SIGN_INS: u64 = 5_400;
const AGENCY_PER_10K_SIGN_INS: u64 = 3_333;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Journey {
    SignUp,
    SignIn { remembered: bool, entry: Entry },
    WrongPassword,
    WrongCode,
}

impl Journey {
    fn name(self) -> &'static str {
        match self {
            Journey::SignUp => "sign-up",
            Journey::SignIn {
                remembered: true,
                entry: Entry::Site,
            } => "sign-in, remembered browser",
            Journey::SignIn {
                remembered: false,
                entry: Entry::Site,
            } => "sign-in with a code",
            Journey::SignIn {
                remembered: true,
                entry: Entry::Agency,
            } => "agency sign-in, remembered browser",
            Journey::SignIn {
                remembered: false,
                entry: Entry::Agency,
            } => "agency sign-in with a code",
            Journey::WrongPassword => "failed: wrong password",
            Journey::WrongCode => "failed: wrong code",
        }
    }
}

/// A small deterministic generator (SplitMix64): the mix is the same from run to run.
#[derive(Debug)]
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn journey(&mut self) -> Journey {
        match self.below(10_000) {
            n if n < SIGN_UP => Journey::SignUp,
            n if n < SIGN_UP + WRONG_PASSWORD => Journey::WrongPassword,
            n if n < SIGN_UP + WRONG_PASSWORD + WRONG_CODE => Journey::WrongCode,
            _ => Journey::SignIn {
                remembered: self.below(10_000) < REMEMBERED_PER_10K_SIGN_INS,
                entry: if self.below(10_000) < AGENCY_PER_10K_SIGN_INS {
                    Entry::Agency
                } else {
                    Entry::Site
                },
            },
        }
    }
}

/// The pool of accounts; one journey at a time per account (one active session each).
#[derive(Debug)]
struct Pool {
    accounts: Vec<Mutex<Account>>,
}

impl Pool {
    /// A free account, starting the search at `from`; `needs_code` also wants one whose
    /// current TOTP step is unused.
    fn take(&self, from: usize, needs_code: bool) -> Option<tokio::sync::MutexGuard<'_, Account>> {
        let n = self.accounts.len();
        (0..n).find_map(|i| {
            let guard = self.accounts[(from + i) % n].try_lock().ok()?;
            (!needs_code || guard.step_free()).then_some(guard)
        })
    }
}

/// The outcome of a run.
#[derive(Debug)]
pub struct Outcome {
    pub report: String,
    pub unexpected: u64,
    pub shed: u64,
    /// Journeys that ended with the answer they deserved (signed in, refused, limited).
    pub completed: u64,
    pub started: u64,
    /// Mail queued = delivered + dead-lettered once the queue drained.
    pub reconciled: bool,
    pub max_rss_kib: u64,
    pub rss_kib_after_setup: u64,
}

/// Runs `plan` against a fresh local stack; `progress` gets a line now and then.
pub async fn run(plan: &Plan, progress: impl Fn(&str)) -> Result<Outcome, String> {
    let stack = Arc::new(Stack::start().await?);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(512)
        .build()
        .map_err(|e| e.to_string())?;
    let rec = Arc::new(Recorder::default());
    progress(&format!(
        "making {} accounts on {} …",
        plan.pool, stack.base
    ));
    let pool = Arc::new(make_pool(&stack, &http, plan.pool).await?);
    let rss_after_setup = report::rss_kib();
    progress(&format!(
        "running {:.1} journeys/s for {} s …",
        plan.rate,
        plan.duration.as_secs()
    ));

    let in_flight = Arc::new(Semaphore::new(plan.max_in_flight));
    let live = Arc::new(AtomicUsize::new(0));
    let sign_ups = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let sampler = {
        let (stack, rec, live, every) = (
            Arc::clone(&stack),
            Arc::clone(&rec),
            Arc::clone(&live),
            plan.sample_every,
        );
        tokio::spawn(async move {
            loop {
                rec.sample(Sample {
                    at: started.elapsed(),
                    rss_kib: report::rss_kib(),
                    in_flight: live.load(Ordering::Relaxed),
                    counts: stack.counts().await,
                });
                tokio::time::sleep(every).await;
            }
        })
    };
    let mut draw = Draw(plan.seed);
    let mut tasks = Vec::new();
    let mut n: u64 = 0;
    let mut shed = 0;
    loop {
        let due = started + Duration::from_secs_f64(n as f64 / plan.rate);
        if due.duration_since(started) >= plan.duration {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        n += 1;
        let journey = draw.journey();
        let from = usize::try_from(draw.below(plan.pool.max(1) as u64)).unwrap_or(0);
        let Ok(permit) = Arc::clone(&in_flight).try_acquire_owned() else {
            shed += 1;
            rec.journey(journey.name(), "shed");
            continue;
        };
        let (stack, http, rec, pool, live, sign_ups) = (
            Arc::clone(&stack),
            http.clone(),
            Arc::clone(&rec),
            Arc::clone(&pool),
            Arc::clone(&live),
            Arc::clone(&sign_ups),
        );
        tasks.push(tokio::spawn(async move {
            live.fetch_add(1, Ordering::Relaxed);
            let outcome = one(&stack, &http, &rec, &pool, journey, from, &sign_ups).await;
            match outcome {
                Ok(what) => rec.journey(journey.name(), what),
                Err(failure) => {
                    rec.journey(journey.name(), "failed");
                    rec.failure(failure.to_string());
                }
            }
            live.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        }));
        tasks.retain(|t| !t.is_finished());
    }
    for t in tasks {
        let _ = t.await;
    }
    let ran = started.elapsed();
    progress("waiting for the mail queue to drain …");
    let counts = drain(&stack).await;
    sampler.abort();
    // An aborted task drops its clone of the stack only once it is awaited.
    let _ = sampler.await;
    let sent = stack.notify.sent.load(Ordering::Relaxed);
    let accounted = counts.delivered + counts.dead_lettered;
    let reconciled = counts.queued == 0 && i64::try_from(sent).is_ok_and(|s| s == accounted);
    let reconciliation = format!(
        "Reconciliation: {sent} messages queued, {} delivered, {} dead-lettered, {} still queued: {}.",
        counts.delivered,
        counts.dead_lettered,
        counts.queued,
        if reconciled {
            "every message accounted for"
        } else {
            "NOT accounted for"
        }
    );
    let samples = rec.samples();
    let max_rss_kib = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let header = format!(
        "{n} journeys started in {:.0} s ({:.2}/s asked, {:.2}/s achieved), {shed} shed, pool of {} accounts; {} unexpected errors.",
        ran.as_secs_f64(),
        plan.rate,
        n as f64 / ran.as_secs_f64(),
        plan.pool,
        rec.unexpected()
    );
    let report = rec.render(&header, &reconciliation);
    let unexpected = rec.unexpected();
    let completed = rec.completed();
    match Arc::try_unwrap(stack) {
        Ok(stack) => stack.stop().await,
        Err(_) => return Err("the stack is still in use".into()),
    }
    Ok(Outcome {
        report,
        unexpected,
        shed,
        completed,
        started: n,
        reconciled,
        max_rss_kib,
        rss_kib_after_setup: rss_after_setup,
    })
}

/// An arrival that found every account of the pool busy (or its code step used): the
/// generator's limit, not the stack's; a pool of [`Plan::pool_for`] keeps it rare.
const NO_FREE_ACCOUNT: &str = "skipped: no free account";

async fn one(
    stack: &Stack,
    http: &reqwest::Client,
    rec: &Recorder,
    pool: &Pool,
    journey: Journey,
    from: usize,
    sign_ups: &AtomicU64,
) -> Result<&'static str, browser::Failure> {
    match journey {
        Journey::SignUp => {
            let n = sign_ups.fetch_add(1, Ordering::Relaxed);
            let mut b = Browser::new(http.clone(), &stack.base);
            journeys::sign_up(stack, &mut b, &format!("newcomer-{n}@load.example"), rec).await?;
            Ok("ok")
        }
        Journey::SignIn { remembered, entry } => {
            let Some(mut acc) = pool.take(from, !remembered) else {
                return Ok(NO_FREE_ACCOUNT);
            };
            journeys::sign_in(&mut acc, remembered, entry, rec, false).await?;
            Ok("ok")
        }
        Journey::WrongPassword => {
            let Some(mut acc) = pool.take(from, false) else {
                return Ok(NO_FREE_ACCOUNT);
            };
            refused(journeys::wrong_password(&mut acc, rec).await?)
        }
        Journey::WrongCode => {
            let Some(mut acc) = pool.take(from, false) else {
                return Ok(NO_FREE_ACCOUNT);
            };
            refused(journeys::wrong_code(&mut acc, rec).await?)
        }
    }
}

fn refused(how: Refusal) -> Result<&'static str, browser::Failure> {
    Ok(match how {
        Refusal::Refused => "refused",
        Refusal::Limited => "limited",
    })
}

/// The pool: each account signed up, then signed in once more with "remember this
/// browser" chosen, in a second browser (on a later TOTP step: a code is never accepted
/// twice, so most of the setup is waiting for the next step, all accounts at once).
async fn make_pool(
    stack: &Arc<Stack>,
    http: &reqwest::Client,
    size: usize,
) -> Result<Pool, String> {
    let setup = Arc::new(Recorder::default());
    // A few at a time: each sign-up hashes a password (argon2's memory), and a burst of
    // all of them would set the memory figure rather than the run.
    let gate = Arc::new(Semaphore::new(8));
    let tasks: Vec<_> = (0..size)
        .map(|i| {
            let (stack, http, setup) = (Arc::clone(stack), http.clone(), Arc::clone(&setup));
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                let permit = Arc::clone(&gate).acquire_owned().await.ok();
                let mut b = Browser::new(http, &stack.base);
                let email = format!("person-{i}@load.example");
                let mut acc = journeys::sign_up(&stack, &mut b, &email, &setup).await?;
                // The wait for the next TOTP step holds no place at the gate.
                drop(permit);
                while !acc.step_free() {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                let _permit = gate.acquire_owned().await.ok();
                // `known` chooses to be remembered, then the two trade places.
                journeys::sign_in(&mut acc, false, Entry::Site, &setup, true).await?;
                std::mem::swap(&mut acc.known, &mut acc.remembered);
                Ok::<_, browser::Failure>(acc)
            })
        })
        .collect();
    let mut accounts = Vec::with_capacity(size);
    for t in tasks {
        let acc = t.await.map_err(|e| format!("setting up: {e}"))?;
        accounts.push(acc.map_err(|e| format!("setting up: {e}"))?);
    }
    // Every account just used a code: the run starts at the next TOTP step, or its first
    // half-minute could sign in with none of them.
    while !accounts.iter().all(Account::step_free) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let accounts = accounts.into_iter().map(Mutex::new).collect();
    Ok(Pool { accounts })
}

/// Waits (up to a minute) for the notify queue to be empty: every job delivered or
/// dead-lettered.
async fn drain(stack: &Stack) -> stack::Counts {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let counts = stack.counts().await;
        if counts.queued == 0 || Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
