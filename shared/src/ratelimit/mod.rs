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
//! | window counter | `RL#<action>#<fp>` | `WINDOW#<window start, Unix ms, 13 digits>` | `count` | window end + 60 s |
//! | locking counter | `RL#<action>#<fp>` | `ATTEMPTS` | `count` | first attempt + window, then the lock's end |
//! | strikes (back-off) | `RL#<action>#<fp>` | `STRIKES` | `strikes` | last lock's end + `forget_after_secs` |
//!
//! # Window limits (most of them)
//!
//! Fixed windows aligned to `window_secs` (a window starts at a multiple of it in Unix
//! time). One attempt is ONE conditional update of the current window's item,
//! `ADD count 1` if the item is absent or `count < max`, which the store applies
//! atomically: the counter can never pass `max`, however many requests race. A refused
//! update means blocked until the window ends. Each window has its own item, so rolling
//! over needs no reset, and the item expires a margin after its window: the counters
//! clean themselves up, and the margin keeps a counter alive for an instance whose clock
//! lags the one that deletes expired items.
//!
//! Fixed windows can let `2 × max` attempts through around a boundary (`max` at the end
//! of one window, `max` at the start of the next). For these limits (emails, SMS, IDV
//! vendor calls, high-entropy codes) that is acceptable and buys one round trip per
//! attempt, exact `retry_after` answers and no read-modify-write. A sliding
//! approximation would need the previous window's count too: a second read per attempt.
//!
//! [`RateLimiter::hit_all`] counts several window limits at once (OTP sends: 2 per 10 s
//! *and* 10 per 5 min) in one transaction, so an attempt refused by one limit is not
//! counted by the other.
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
        match &limit.lockout {
            None => self.hit_window(limit, subject).await,
            Some(lockout) => self.hit_locking(limit, lockout, subject).await,
        }
    }

    /// Counts one attempt against every limit, or against none: window limits only, in
    /// one transaction (e.g. [`OTP_SENDS_SHORT`] and [`OTP_SENDS_LONG`]). `remaining` is
    /// the smallest left, read just after (so at most what is really left).
    pub async fn hit_all(
        &self,
        limits: &[&Limit],
        subject: &str,
    ) -> Result<Remaining, RateLimitError> {
        for limit in limits {
            validate(limit)?;
            if limit.lockout.is_some() {
                return Err(RateLimitError::Invalid(limit.action));
            }
        }
        if limits.is_empty() {
            return Err(RateLimitError::Invalid("hit_all needs at least one limit"));
        }
        let now = self.clock.now_secs();
        let windows: Vec<Window> = limits
            .iter()
            .map(|l| Window::at(now, l.window_secs))
            .collect();
        let keys: Vec<Key> = limits
            .iter()
            .zip(&windows)
            .map(|(l, w)| Key::new(self.partition(l, subject), w.sort_key()))
            .collect();
        let writes = limits
            .iter()
            .zip(&windows)
            .zip(&keys)
            .map(|((limit, window), key)| {
                let (update, expect) = count_in_window(limit, window, key.clone());
                Write::Update(update, expect)
            })
            .collect();
        match self.store.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::TransactionCanceled { failed }) => {
                // Wait for the last of the refusing windows to end.
                let until = failed
                    .iter()
                    .filter_map(|&i| windows.get(i))
                    .map(|w| w.end)
                    .max()
                    .unwrap_or(now + 1);
                return Err(blocked_until(until, now));
            }
            Err(e) => return Err(e.into()),
        }
        let mut least = u32::MAX;
        for (limit, key) in limits.iter().zip(&keys) {
            let item = self.store.get(key).await?;
            least = least.min(remaining_after(limit, item.as_ref()));
        }
        Ok(Remaining { remaining: least })
    }

    /// What is left for `subject`, without counting; `Blocked` when the next attempt
    /// would be refused.
    pub async fn peek(&self, limit: &Limit, subject: &str) -> Result<Remaining, RateLimitError> {
        validate(limit)?;
        let now = self.clock.now_secs();
        let pk = self.partition(limit, subject);
        let (item, until) = match &limit.lockout {
            None => {
                let window = Window::at(now, limit.window_secs);
                let item = self.store.get(&Key::new(pk, window.sort_key())).await?;
                (item, window.end)
            }
            Some(lockout) => {
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
        match &limit.lockout {
            None => {
                // Earlier windows no longer count, so the current one is all there is.
                let window = Window::at(self.clock.now_secs(), limit.window_secs);
                self.store
                    .delete(&Key::new(pk, window.sort_key()), Expect::Any)
                    .await?;
            }
            Some(_) => {
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
        match limit.lockout {
            None => Key::new(
                pk,
                Window::at(self.clock.now_secs(), limit.window_secs).sort_key(),
            ),
            Some(_) => Key::new(pk, ATTEMPTS_SK),
        }
    }

    /// The item that remembers `subject`'s locks, for a limit that backs off.
    pub fn strikes_key(&self, limit: &Limit, subject: &str) -> Option<Key> {
        limit
            .lockout
            .filter(Lockout::backs_off)
            .map(|_| Key::new(self.partition(limit, subject), STRIKES_SK))
    }

    async fn hit_window(&self, limit: &Limit, subject: &str) -> Result<Remaining, RateLimitError> {
        let now = self.clock.now_secs();
        let window = Window::at(now, limit.window_secs);
        let key = Key::new(self.partition(limit, subject), window.sort_key());
        let (update, expect) = count_in_window(limit, &window, key);
        match self.store.update(update, expect).await {
            Ok(item) => Ok(Remaining {
                remaining: remaining_after(limit, Some(&item)),
            }),
            Err(e) if e.is_condition_failure() => Err(blocked_until(window.end, now)),
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

/// The single conditional update that counts one attempt in `window`.
fn count_in_window(limit: &Limit, window: &Window, key: Key) -> (Update, Expect) {
    (
        Update::new(key)
            .add(COUNT, 1)
            .expire_at(window.end.saturating_add(WINDOW_MARGIN_SECS)),
        Expect::AbsentOr(vec![Check::lt(COUNT, i64::from(limit.max))]),
    )
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
