//! The shared rate limiter (RL): atomic counters with expiry in the [`Store`], keyed by
//! action and by a keyed fingerprint of the subject, never by the subject itself.
//!
//! # Use
//!
//! Count an attempt **before** doing the thing it limits, and act only on `Ok`:
//!
//! ```text
//! let subject = compound_subject(&[&email, &ip]);
//! limiter.hit(&SIGN_IN_FAILURES, &subject).await?;      // Blocked → 429 "retry in N s"
//! if password_ok {
//!     limiter.reset(&SIGN_IN_FAILURES, &subject).await?; // success clears the failures
//! }
//! ```
//!
//! Counting first is what makes a limit hold under concurrency: twenty requests racing
//! in at once are twenty increments, and only `max` of them can succeed. Counting after
//! a failure instead would let every in-flight request check a password before any of
//! them was counted. "Failure" limits (sign-in, MFA) are therefore limits on attempts
//! that a success resets. [`RateLimiter::peek`] reads without counting, for pages that
//! show the state; it decides nothing.
//!
//! # Keys
//!
//! The subject (an email, a phone number, an SSN, "email + IP" …) is personal data, and
//! keys are visible to operators and end up in logs. The limiter stores only
//! `fp = base64url(HMAC-SHA256(fingerprint_key, "passerelle/ratelimit/v1" 0 action 0
//! subject))`: without the key, a fingerprint cannot be tested against guesses. The
//! action is inside the MAC so that one subject's counters for different actions cannot
//! be linked to each other either.
//!
//! | Item | `pk` | `sk` | attributes | `expires_at` |
//! | --- | --- | --- | --- | --- |
//! | sliding log | `RL#<action>#<fp>` | `LOG` | `times` (the attempts in the window, Unix ms, comma-separated, oldest first), `count` | newest attempt + window + 60 s |
//! | distinct members | `RL#<action>#<fp>` | `DISTINCT` | `members` (`<member fp>:<first seen, Unix ms>`, comma-separated), `count` | newest member + window + 60 s |
//! | estimated window | `RL#<action>#<fp>` | `WINDOW#<window start, Unix ms, 13 digits>` | `count` | window end + window + 60 s |
//! | locking counter | `RL#<action>#<fp>` | `ATTEMPTS` | `count` | first attempt + window, then the lock's end |
//! | strikes (back-off) | `RL#<action>#<fp>` | `STRIKES` | `strikes` | last lock's end + `forget_after_secs` |
//!
//! # Window limits (most of them): sliding, never clock-aligned
//!
//! "At most `max` in `window_secs`" means in **any** span of that length: fixed windows
//! aligned to the clock let `2 × max` through around a boundary (16 texts to one number
//! in 85 s), which is what SMS pumping uses. Two ways of counting ([`Counting`]):
//!
//! - **Log** (every per-subject limit): one item holds the times of the attempts still in
//!   the window. An attempt reads it, drops the times that left the window, and is
//!   refused if `max` remain (until the oldest leaves: an exact `retry_after`); otherwise
//!   it writes the log with its own time under `Expect::Version` of what it read (or
//!   `Absent`). A write refused by the condition means another attempt got in first: it
//!   reads again, as the locking limits do, and after a few lost rounds fails closed. So
//!   the count can never pass `max`, however many requests race, and a refused attempt is
//!   not counted. Two round trips per attempt; `max` is at most [`MAX_LOGGED`].
//! - **Estimate** (the deployment-wide SMS ceiling, thousands per hour on one item): the
//!   sliding count is estimated as this fixed window's count plus the previous window's,
//!   weighted by the share of it the sliding window still covers. The attempt reads the
//!   previous window's count (closed, so stable) and makes ONE conditional `ADD` on the
//!   current window's item, `count < max − carried`: atomic, so racing requests cannot
//!   pass the bound, and no read-modify-write loop on a hot item. The error is bounded by
//!   how uneven the previous window was (never `2 × max`).
//!
//! [`RateLimiter::hit_all`] counts several log limits at once (OTP sends: 2 in any 10 s
//! *and* 10 in any 5 min) in one transaction, so an attempt refused by one limit is not
//! counted by the other. [`RateLimiter::hit_distinct`] counts distinct members (the phone
//! numbers an account texts) in a sliding window: a member already counted costs nothing.
//!
//! # Locking limits (sign-in, MFA)
//!
//! These lock the subject from the `max`-th attempt (MFA: 10 minutes from the 10th wrong
//! code, not from a window boundary), and sign-in locks grow: 60 s, 120 s, 240 s … up to
//! an hour. A lock must stop every later attempt, including those racing the one that
//! triggered it, so the lock lives in the **same item** as the count: no attempt can
//! slip between "the count reached max" and "the lock was written". That item has a
//! fixed sort key (`ATTEMPTS`) and its window is anchored at the first attempt:
//!
//! - absent → create it with `count = 1`, expiring after `window_secs`
//!   (`Expect::Absent`);
//! - `count < max − 1` → `ADD count 1`, expiry kept (`Expect::All([count < max − 1])`);
//! - `count = max − 1` → this attempt is the last one allowed and starts the lock:
//!   `ADD count 1` and move the expiry to now + the lock (`Expect::All([count = max −
//!   1])`); when the item expires, the lock ends and the count starts afresh;
//! - `count ≥ max` → blocked until the item expires.
//!
//! The limiter reads the item to choose the branch, then writes with the branch's
//! condition; if the item changed meanwhile the write is refused and it reads again.
//! Every condition describes exactly the state the branch assumed, so a decision is
//! never taken on a stale read, and exactly one attempt per lock takes the locking
//! branch. A request that keeps losing races gives up after a few rounds and is told
//! to retry in a second (it fails closed).
//!
//! Back-off keeps a second item, `STRIKES`: how many locks the subject has had
//! recently. The locking attempt reads it, computes the lock
//! (`lock_secs × 2^strikes`, capped) and writes both items in one transaction, the
//! strikes under `Expect::Version` (or `Absent`): each lock is counted exactly once,
//! and a lock's length never comes from a stale strike count. The strikes item expires
//! `forget_after_secs` after the lock it records; [`RateLimiter::reset`] (a successful
//! sign-in) deletes both items.
//!
//! # Errors
//!
//! [`RateLimitError::Blocked`] is the only "no": the web layer answers 429 with a page
//! saying when to retry. A store failure is [`RateLimitError::Store`], never a block, so
//! an outage shows as an outage (500) rather than as every person being rate limited.

mod rules;

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

pub use rules::*;

use crate::clock::Clock;
use crate::keys::SecretKey;
use crate::store::{Check, Expect, Item, Key, Store, StoreError, Update, Write};

/// The counters' attribute names.
const COUNT: &str = "count";
const STRIKES: &str = "strikes";

/// Sort keys of the locking limits' items.
const ATTEMPTS_SK: &str = "ATTEMPTS";
const STRIKES_SK: &str = "STRIKES";

/// Sort keys and attributes of the sliding logs.
const LOG_SK: &str = "LOG";
const DISTINCT_SK: &str = "DISTINCT";
const TIMES: &str = "times";
const MEMBERS: &str = "members";

/// How long a window counter outlives its window (see the module docs).
const WINDOW_MARGIN_SECS: i64 = 60;

/// Read-then-write rounds before a locking attempt gives up. Each lost round means
/// another request's write succeeded, and the item has only four states to go through.
const MAX_ROUNDS: usize = 8;

/// Separates these fingerprints from any other use of the same key.
const FINGERPRINT_DOMAIN: &[u8] = b"passerelle/ratelimit/v1";

/// What is left after an attempt was counted (or, from `peek`, before the next one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Remaining {
    /// Attempts still allowed in the current window; 0 means the next one is refused.
    pub remaining: u32,
}

impl Remaining {
    /// Whether the page should warn (MFA-6: "warn when 3 remain").
    pub fn warn(&self, threshold: u32) -> bool {
        self.remaining <= threshold
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    /// Too many attempts: refuse this one; the subject may try again after this long.
    #[error("too many attempts; retry after {retry_after_secs} s")]
    Blocked { retry_after_secs: u64 },
    /// The limit itself is malformed (a programming error; see [`Limit::is_valid`]).
    #[error("invalid rate limit {0:?}")]
    Invalid(&'static str),
    /// The store failed: nothing is known about the subject, so this is not a block.
    #[error("the rate-limit store failed: {0}")]
    Store(#[from] StoreError),
}

impl RateLimitError {
    /// The wait for a block, `None` for the other errors.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            RateLimitError::Blocked { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

/// Refused until `until` (Unix seconds); always at least a second, so that a Retry-After
/// header never says "now" to a request that was just refused.
fn blocked_until(until: i64, now: i64) -> RateLimitError {
    let secs = until.saturating_sub(now).max(1);
    RateLimitError::Blocked {
        retry_after_secs: u64::try_from(secs).unwrap_or(1),
    }
}

/// Joins several parts into one subject without ambiguity (each part is prefixed with
/// its length), e.g. `compound_subject(&[email, ip])` for sign-in failures: `("a|b", "c")`
/// and `("a", "b|c")` stay different subjects. Normalise each part first (ACC-1 for
/// emails, E.164 for phones).
pub fn compound_subject(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push_str(&part.len().to_string());
        out.push(':');
        out.push_str(part);
    }
    out
}

/// The current fixed window of a window limit.
#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    end: i64,
}

impl Window {
    fn at(now: i64, window_secs: i64) -> Self {
        let start = now - now.rem_euclid(window_secs);
        Self {
            start,
            end: start.saturating_add(window_secs),
        }
    }

    fn sort_key(&self) -> String {
        // Zero-padded milliseconds: the data model's convention for times in sort keys.
        format!("WINDOW#{:013}", self.start.saturating_mul(1000))
    }

    /// The fixed window before this one.
    fn previous(&self) -> Self {
        let len = self.end - self.start;
        Self {
            start: self.start - len,
            end: self.start,
        }
    }
}

/// The attempts of a sliding log still inside the window at `now_ms`, oldest first;
/// `None` for an item that is not a log (counted as full: fail closed).
fn live_times(item: Option<&Item>, now_ms: i64, window_ms: i64) -> Option<Vec<i64>> {
    let Some(item) = item else {
        return Some(Vec::new());
    };
    let text = item.str(TIMES)?;
    let mut times: Vec<i64> = text
        .split(',')
        .filter_map(|t| t.parse().ok())
        .filter(|t| *t > now_ms - window_ms)
        .collect();
    times.sort_unstable();
    Some(times)
}

/// A sliding log's state at `now_ms`: the live times, or when the next attempt may come.
enum LogState {
    Open(Vec<i64>),
    /// Full until this Unix ms.
    Full(i64),
}

fn log_state(limit: &Limit, item: Option<&Item>, now_ms: i64) -> LogState {
    let window_ms = limit.window_secs.saturating_mul(1000);
    match live_times(item, now_ms, window_ms) {
        Some(times) if times.len() < limit.max as usize => LogState::Open(times),
        Some(times) => {
            // The oldest of the last `max` leaves first.
            let oldest = times[times.len() - limit.max as usize];
            LogState::Full(oldest.saturating_add(window_ms))
        }
        None => LogState::Full(now_ms.saturating_add(window_ms)),
    }
}

/// Refused until `until_ms` (Unix ms), rounded up to whole seconds, at least one.
fn blocked_until_ms(until_ms: i64, now_ms: i64) -> RateLimitError {
    let ms = until_ms.saturating_sub(now_ms).max(1);
    RateLimitError::Blocked {
        retry_after_secs: u64::try_from((ms + 999) / 1000).unwrap_or(1),
    }
}

/// The write that records `times` (with the new attempt) in the log `key`, under the
/// condition that the log is still what was read.
fn log_write(limit: &Limit, key: Key, read: Option<&Item>, times: &[i64]) -> (Update, Expect) {
    let newest = times.last().copied().unwrap_or(0);
    let text: Vec<String> = times.iter().map(i64::to_string).collect();
    let update = Update::new(key)
        .set(TIMES, text.join(","))
        .set(COUNT, i64::try_from(times.len()).unwrap_or(i64::MAX))
        .expire_at(
            (newest / 1000)
                .saturating_add(limit.window_secs)
                .saturating_add(WINDOW_MARGIN_SECS),
        );
    (update, expect_read(read))
}

/// The condition that the item is still the version read (or still absent).
fn expect_read(read: Option<&Item>) -> Expect {
    match read {
        None => Expect::Absent,
        Some(item) => Expect::Version(item.version),
    }
}

/// Attempts left once `count` were made; a counter without a number counts as full.
fn remaining_after(limit: &Limit, item: Option<&Item>) -> u32 {
    let count = item.map_or(0, count_of(limit));
    u32::try_from(i64::from(limit.max).saturating_sub(count).max(0)).unwrap_or(0)
}

fn count_of(limit: &Limit) -> impl Fn(&Item) -> i64 {
    let full = i64::from(limit.max);
    move |item| item.num(COUNT).unwrap_or(full)
}

/// Counts attempts against [`Limit`]s in the store. Cheap to share behind an `Arc`.
pub struct RateLimiter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// HMAC-SHA256 already keyed with the fingerprint key; cloned for each fingerprint.
    mac: Hmac<Sha256>,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("store", &self.store.adapter())
            .field("fingerprint_key", &"[redacted]")
            .finish()
    }
}

impl RateLimiter {
    /// `fingerprint_key` keys the subjects' fingerprints: keep it stable (changing it
    /// starts every counter afresh) and secret (with it, a fingerprint can be tested
    /// against guessed emails or phone numbers).
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, fingerprint_key: SecretKey) -> Self {
        // HMAC zero-pads a key shorter than the hash's 64-byte block, so keying with the
        // padded block is HMAC under the 32-byte key itself, without a fallible call.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(fingerprint_key.expose());
        let mac = Hmac::<Sha256>::new(&block.into());
        block.zeroize();
        Self { store, clock, mac }
    }

    /// Counts one attempt by `subject`, or refuses it. Call it before the attempt.
    pub async fn hit(&self, limit: &Limit, subject: &str) -> Result<Remaining, RateLimitError> {
        validate(limit)?;
        match (&limit.lockout, limit.counting) {
            (None, Counting::Log) => self.hit_all(&[limit], subject).await,
            (None, Counting::Estimate) => self.hit_estimate(limit, subject).await,
            (Some(lockout), _) => self.hit_locking(limit, lockout, subject).await,
        }
    }

    /// Counts one attempt against every limit, or against none: sliding-log limits only,
    /// in one transaction (e.g. [`OTP_SENDS_SHORT`] and [`OTP_SENDS_LONG`]). `remaining`
    /// is the smallest left.
    pub async fn hit_all(
        &self,
        limits: &[&Limit],
        subject: &str,
    ) -> Result<Remaining, RateLimitError> {
        for limit in limits {
            validate(limit)?;
            if limit.lockout.is_some() || limit.counting != Counting::Log {
                return Err(RateLimitError::Invalid(limit.action));
            }
        }
        if limits.is_empty() {
            return Err(RateLimitError::Invalid("hit_all needs at least one limit"));
        }
        let keys: Vec<Key> = limits
            .iter()
            .map(|l| Key::new(self.partition(l, subject), LOG_SK))
            .collect();
        for _ in 0..MAX_ROUNDS {
            let now_ms = self.clock.now_ms();
            let mut read = Vec::with_capacity(keys.len());
            for key in &keys {
                read.push(self.store.get(key).await?);
            }
            let mut writes = Vec::with_capacity(keys.len());
            let mut full_until = None;
            let mut least = u32::MAX;
            for ((limit, key), item) in limits.iter().zip(&keys).zip(&read) {
                match log_state(limit, item.as_ref(), now_ms) {
                    // Wait for the last of the refusing limits to open.
                    LogState::Full(until) => {
                        full_until = Some(full_until.map_or(until, |u: i64| u.max(until)));
                    }
                    LogState::Open(mut times) => {
                        times.push(now_ms);
                        least = least.min(limit.max.saturating_sub(times.len() as u32));
                        let (update, expect) = log_write(limit, key.clone(), item.as_ref(), &times);
                        writes.push(Write::Update(update, expect));
                    }
                }
            }
            if let Some(until) = full_until {
                return Err(blocked_until_ms(until, now_ms));
            }
            let done = if writes.len() == 1 {
                match writes.pop() {
                    Some(Write::Update(update, expect)) => {
                        self.store.update(update, expect).await.map(|_| ())
                    }
                    _ => Ok(()),
                }
            } else {
                self.store.transact(writes).await
            };
            match done {
                Ok(()) => return Ok(Remaining { remaining: least }),
                // Another attempt wrote first: decide again on what the logs are now.
                Err(e) if e.is_condition_failure() => continue,
                Err(StoreError::TransactionCanceled { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(contended(limits[0]))
    }

    /// Counts `member` (say, a phone number) among the distinct members `subject` (say, an
    /// account) used in any `window_secs`: allowed while fewer than `max` distinct ones
    /// are in the window, or if `member` already is (then nothing is written). Members are
    /// stored as fingerprints, like subjects.
    pub async fn hit_distinct(
        &self,
        limit: &Limit,
        subject: &str,
        member: &str,
    ) -> Result<Remaining, RateLimitError> {
        validate(limit)?;
        if limit.lockout.is_some() || limit.counting != Counting::Log {
            return Err(RateLimitError::Invalid(limit.action));
        }
        let key = Key::new(self.partition(limit, subject), DISTINCT_SK);
        // The member's own fingerprint, under the action and subject's: 16 characters
        // (96 bits) are plenty to tell a handful of members apart.
        let tag: String = self
            .partition(limit, &compound_subject(&[subject, member]))
            .rsplit('#')
            .next()
            .unwrap_or_default()
            .chars()
            .take(16)
            .collect();
        let window_ms = limit.window_secs.saturating_mul(1000);
        for _ in 0..MAX_ROUNDS {
            let now_ms = self.clock.now_ms();
            let current = self.store.get(&key).await?;
            let Some(mut members) = live_members(current.as_ref(), now_ms, window_ms) else {
                return Err(blocked_until_ms(now_ms.saturating_add(window_ms), now_ms));
            };
            let max = limit.max as usize;
            if members.iter().any(|(t, _)| *t == tag) {
                return Ok(Remaining {
                    remaining: limit.max.saturating_sub(members.len() as u32),
                });
            }
            if members.len() >= max {
                let oldest = members[members.len() - max].1;
                return Err(blocked_until_ms(oldest.saturating_add(window_ms), now_ms));
            }
            members.push((tag.clone(), now_ms));
            let text: Vec<String> = members.iter().map(|(t, ms)| format!("{t}:{ms}")).collect();
            let update = Update::new(key.clone())
                .set(MEMBERS, text.join(","))
                .set(COUNT, i64::try_from(members.len()).unwrap_or(i64::MAX))
                .expire_at(
                    (now_ms / 1000)
                        .saturating_add(limit.window_secs)
                        .saturating_add(WINDOW_MARGIN_SECS),
                );
            match self
                .store
                .update(update, expect_read(current.as_ref()))
                .await
            {
                Ok(_) => {
                    return Ok(Remaining {
                        remaining: limit.max.saturating_sub(members.len() as u32),
                    });
                }
                Err(e) if e.is_condition_failure() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(contended(limit))
    }

    /// What is left for `subject`, without counting; `Blocked` when the next attempt
    /// would be refused.
    pub async fn peek(&self, limit: &Limit, subject: &str) -> Result<Remaining, RateLimitError> {
        validate(limit)?;
        let now = self.clock.now_secs();
        let pk = self.partition(limit, subject);
        let (item, until) = match (&limit.lockout, limit.counting) {
            (None, Counting::Log) => {
                let now_ms = self.clock.now_ms();
                let item = self.store.get(&Key::new(pk, LOG_SK)).await?;
                return match log_state(limit, item.as_ref(), now_ms) {
                    LogState::Open(times) => Ok(Remaining {
                        remaining: limit.max.saturating_sub(times.len() as u32),
                    }),
                    LogState::Full(until) => Err(blocked_until_ms(until, now_ms)),
                };
            }
            (None, Counting::Estimate) => {
                let window = Window::at(now, limit.window_secs);
                let carried = self.carried(limit, &pk, &window, now).await?;
                let item = self.store.get(&Key::new(pk, window.sort_key())).await?;
                let count = item.as_ref().map_or(0, count_of(limit));
                let left = i64::from(limit.max) - carried - count;
                return match u32::try_from(left) {
                    Ok(remaining) if remaining > 0 => Ok(Remaining { remaining }),
                    _ => Err(blocked_until(window.end, now)),
                };
            }
            (Some(lockout), _) => {
                let item = self.store.get(&Key::new(pk, ATTEMPTS_SK)).await?;
                let until = lock_end(item.as_ref(), now, lockout);
                (item, until)
            }
        };
        match remaining_after(limit, item.as_ref()) {
            0 => Err(blocked_until(until, now)),
            remaining => Ok(Remaining { remaining }),
        }
    }

    /// Forgets `subject`'s attempts (and, for a locking limit, its lock and strikes):
    /// e.g. after a successful sign-in.
    pub async fn reset(&self, limit: &Limit, subject: &str) -> Result<(), RateLimitError> {
        validate(limit)?;
        let pk = self.partition(limit, subject);
        match (&limit.lockout, limit.counting) {
            (None, Counting::Log) => {
                let log = Key::new(pk.clone(), LOG_SK);
                let distinct = Key::new(pk, DISTINCT_SK);
                let (a, b) = tokio::join!(
                    self.store.delete(&log, Expect::Any),
                    self.store.delete(&distinct, Expect::Any)
                );
                a?;
                b?;
            }
            (None, Counting::Estimate) => {
                let window = Window::at(self.clock.now_secs(), limit.window_secs);
                let current = Key::new(pk.clone(), window.sort_key());
                let previous = Key::new(pk, window.previous().sort_key());
                let (a, b) = tokio::join!(
                    self.store.delete(&current, Expect::Any),
                    self.store.delete(&previous, Expect::Any)
                );
                a?;
                b?;
            }
            (Some(_), _) => {
                let attempts = Key::new(pk.clone(), ATTEMPTS_SK);
                let strikes = Key::new(pk, STRIKES_SK);
                let (a, s) = tokio::join!(
                    self.store.delete(&attempts, Expect::Any),
                    self.store.delete(&strikes, Expect::Any)
                );
                a?;
                s?;
            }
        }
        Ok(())
    }

    /// The partition holding `subject`'s counters for `limit`: `RL#<action>#<fp>`.
    pub fn partition(&self, limit: &Limit, subject: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(FINGERPRINT_DOMAIN);
        mac.update(&[0]);
        mac.update(limit.action.as_bytes());
        mac.update(&[0]);
        mac.update(subject.as_bytes());
        let fp = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("RL#{}#{fp}", limit.action)
    }

    /// The item that counts `subject`'s attempts now (for operators and tests).
    pub fn counter_key(&self, limit: &Limit, subject: &str) -> Key {
        let pk = self.partition(limit, subject);
        match (limit.lockout, limit.counting) {
            (None, Counting::Log) => Key::new(pk, LOG_SK),
            (None, Counting::Estimate) => Key::new(
                pk,
                Window::at(self.clock.now_secs(), limit.window_secs).sort_key(),
            ),
            (Some(_), _) => Key::new(pk, ATTEMPTS_SK),
        }
    }

    /// The item that remembers `subject`'s locks, for a limit that backs off.
    pub fn strikes_key(&self, limit: &Limit, subject: &str) -> Option<Key> {
        limit
            .lockout
            .filter(Lockout::backs_off)
            .map(|_| Key::new(self.partition(limit, subject), STRIKES_SK))
    }

    /// The previous window's attempts the sliding window still covers at `now`.
    async fn carried(
        &self,
        limit: &Limit,
        pk: &str,
        window: &Window,
        now: i64,
    ) -> Result<i64, RateLimitError> {
        let previous = self
            .store
            .get(&Key::new(pk, window.previous().sort_key()))
            .await?;
        let before = previous.as_ref().map_or(0, count_of(limit));
        // The share of the previous window still inside the sliding one, rounded up.
        let covered = window.end.saturating_sub(now);
        let len = limit.window_secs;
        Ok((before.saturating_mul(covered) + len - 1) / len)
    }

    async fn hit_estimate(
        &self,
        limit: &Limit,
        subject: &str,
    ) -> Result<Remaining, RateLimitError> {
        let now = self.clock.now_secs();
        let window = Window::at(now, limit.window_secs);
        let pk = self.partition(limit, subject);
        let carried = self.carried(limit, &pk, &window, now).await?;
        let allowed = i64::from(limit.max) - carried;
        if allowed <= 0 {
            return Err(blocked_until(window.end, now));
        }
        let key = Key::new(pk, window.sort_key());
        let update = Update::new(key)
            .add(COUNT, 1)
            // It is counted again as the next window's previous one.
            .expire_at(
                window
                    .end
                    .saturating_add(limit.window_secs)
                    .saturating_add(WINDOW_MARGIN_SECS),
            );
        let expect = Expect::AbsentOr(vec![Check::lt(COUNT, allowed)]);
        match self.store.update(update, expect).await {
            Ok(item) => {
                let count = item.num(COUNT).unwrap_or(i64::from(limit.max));
                Ok(Remaining {
                    remaining: u32::try_from((allowed - count).max(0)).unwrap_or(0),
                })
            }
            Err(e) if e.is_condition_failure() => {
                tracing::warn!(
                    action = limit.action,
                    max = limit.max,
                    ceiling_reached = true,
                    "rate limit: ceiling reached"
                );
                Err(blocked_until(window.end, now))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn hit_locking(
        &self,
        limit: &Limit,
        lockout: &Lockout,
        subject: &str,
    ) -> Result<Remaining, RateLimitError> {
        let pk = self.partition(limit, subject);
        let key = Key::new(pk.clone(), ATTEMPTS_SK);
        let max = i64::from(limit.max);
        let count = count_of(limit);
        for _ in 0..MAX_ROUNDS {
            let now = self.clock.now_secs();
            let current = self.store.get(&key).await?;
            let before = current.as_ref().map_or(0, &count);
            // The condition each branch writes under is exactly the state it read.
            let expect = |check: Check| match &current {
                None => Expect::Absent,
                Some(_) => Expect::All(vec![check]),
            };
            let outcome = if before >= max {
                return Err(blocked_until(lock_end(current.as_ref(), now, lockout), now));
            } else if before + 1 < max {
                let mut update = Update::new(key.clone()).add(COUNT, 1);
                if current.is_none() {
                    // The window starts with the first attempt and is never extended.
                    update = update.expire_at(now.saturating_add(limit.window_secs));
                }
                self.store
                    .update(update, expect(Check::lt(COUNT, max - 1)))
                    .await
                    .map(|item| remaining_after(limit, Some(&item)))
            } else {
                let update = Update::new(key.clone()).add(COUNT, 1);
                self.lock(
                    limit,
                    lockout,
                    &pk,
                    update,
                    expect(Check::eq(COUNT, max - 1)),
                    now,
                )
                .await
                .map(|()| 0)
            };
            match outcome {
                Ok(remaining) => return Ok(Remaining { remaining }),
                // Another request changed the item first: decide again on what it is now.
                Err(e) if e.is_condition_failure() => continue,
                Err(e) => return Err(e.into()),
            }
        }
        tracing::warn!(
            action = limit.action,
            "rate limit: too much contention on one subject; refusing"
        );
        Err(RateLimitError::Blocked {
            retry_after_secs: 1,
        })
    }

    /// The attempt that reaches `max`: counts it and locks from now, with the strikes
    /// (when the lock backs off) in the same transaction.
    async fn lock(
        &self,
        limit: &Limit,
        lockout: &Lockout,
        pk: &str,
        count: Update,
        expect: Expect,
        now: i64,
    ) -> Result<(), StoreError> {
        if !lockout.backs_off() {
            let until = now.saturating_add(lockout.lock_secs);
            self.store.update(count.expire_at(until), expect).await?;
            tracing::info!(
                action = limit.action,
                lock_secs = lockout.lock_secs,
                "rate limit: locked"
            );
            return Ok(());
        }
        let key = Key::new(pk, STRIKES_SK);
        let (strikes, strikes_expect) = match self.store.get(&key).await? {
            None => (0, Expect::Absent),
            Some(item) => (
                item.num(STRIKES).unwrap_or(0),
                Expect::Version(item.version),
            ),
        };
        let lock_secs = lockout.lock_after(u32::try_from(strikes.max(0)).unwrap_or(u32::MAX));
        let until = now.saturating_add(lock_secs);
        let remember = Update::new(key)
            .add(STRIKES, 1)
            .expire_at(until.saturating_add(lockout.forget_after_secs));
        self.store
            .transact(vec![
                Write::Update(count.expire_at(until), expect),
                Write::Update(remember, strikes_expect),
            ])
            .await?;
        tracing::info!(
            action = limit.action,
            lock_secs,
            strikes = strikes + 1,
            "rate limit: locked"
        );
        Ok(())
    }
}

/// The distinct members of a log still inside the window, in the order first seen;
/// `None` for an item that is not one (counted as full: fail closed).
fn live_members(item: Option<&Item>, now_ms: i64, window_ms: i64) -> Option<Vec<(String, i64)>> {
    let Some(item) = item else {
        return Some(Vec::new());
    };
    let text = item.str(MEMBERS)?;
    let mut members: Vec<(String, i64)> = text
        .split(',')
        .filter_map(|m| {
            let (tag, ms) = m.split_once(':')?;
            Some((tag.to_owned(), ms.parse().ok()?))
        })
        .filter(|(_, ms)| *ms > now_ms - window_ms)
        .collect();
    members.sort_by_key(|(_, ms)| *ms);
    Some(members)
}

/// A request that kept losing races on one subject: refused for a second (fail closed).
fn contended(limit: &Limit) -> RateLimitError {
    tracing::warn!(
        action = limit.action,
        "rate limit: too much contention on one subject; refusing"
    );
    RateLimitError::Blocked {
        retry_after_secs: 1,
    }
}

/// When a locking limit's item stops refusing: its expiry (the lock's end). An item
/// without one never comes from this limiter; assume a fresh lock.
fn lock_end(item: Option<&Item>, now: i64, lockout: &Lockout) -> i64 {
    item.and_then(|i| i.expires_at)
        .unwrap_or_else(|| now.saturating_add(lockout.lock_secs))
}

fn validate(limit: &Limit) -> Result<(), RateLimitError> {
    if limit.is_valid() {
        Ok(())
    } else {
        Err(RateLimitError::Invalid(limit.action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_align_to_their_length() {
        let w = Window::at(1_000_000_007, 60);
        assert_eq!((w.start, w.end), (1_000_000_000 - 40, 1_000_000_020));
        assert_eq!(w.start % 60, 0);
        assert_eq!(Window::at(120, 60).start, 120);
        assert_eq!(Window::at(120, 60).sort_key(), "WINDOW#0000000120000");
    }

    #[test]
    fn compound_subjects_are_unambiguous() {
        assert_ne!(
            compound_subject(&["a|b", "c"]),
            compound_subject(&["a", "b|c"])
        );
        assert_eq!(compound_subject(&["ab", "c"]), "2:ab1:c");
    }

    #[test]
    fn blocks_last_at_least_a_second() {
        assert!(matches!(
            blocked_until(10, 10),
            RateLimitError::Blocked {
                retry_after_secs: 1
            }
        ));
        assert_eq!(blocked_until(70, 10).retry_after_secs(), Some(60));
    }
}
