//! Rate-limit scenarios (given / when / then), run against the embedded store and, with
//! the `aws` feature, against DynamoDB on moto_server (PASSERELLE_TEST_MOTO_URL, which
//! `cargo xtask test` sets). Time is a `ManualClock` shared by the store and the limiter.
// Without a backend feature only the outage tests run; the scenarios are unused then.
#![cfg_attr(
    not(any(feature = "embedded", feature = "aws")),
    allow(dead_code, unused_macros)
)]

use std::sync::Arc;

use passerelle::clock::{Clock, ManualClock};
use passerelle::keys::SecretKey;
use passerelle::ratelimit::*;
use passerelle::store::{Item, Key, Store};

/// A multiple of 21 600 s (6 h, the longest window in the table) so that every window
/// starts exactly here and the expected waits are round numbers.
const T0_SECS: i64 = 1_728_000_000;

const FINGERPRINT_KEY: [u8; 32] = [7; 32];

/// Everything a scenario needs; `_backend` keeps the temporary directory or the moto
/// table alive until the scenario ends.
pub struct World {
    clock: Arc<ManualClock>,
    store: Arc<dyn Store>,
    limiter: Arc<RateLimiter>,
    _backend: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("now", &self.now())
            .field("store", &self.store.adapter())
            .finish()
    }
}

impl World {
    fn new(clock: Arc<ManualClock>, store: Arc<dyn Store>, backend: Box<dyn Send + Sync>) -> Self {
        let limiter = RateLimiter::new(
            Arc::clone(&store),
            clock.clone(),
            SecretKey::from_bytes(FINGERPRINT_KEY),
        );
        Self {
            clock,
            store,
            limiter: Arc::new(limiter),
            _backend: backend,
        }
    }

    fn clock_at(secs: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock::at_ms(secs * 1000))
    }

    fn now(&self) -> i64 {
        self.clock.now_secs()
    }

    fn set(&self, secs: i64) {
        self.clock.set_ms(secs * 1000);
    }

    fn advance(&self, secs: i64) {
        self.clock.advance_ms(secs * 1000);
    }

    async fn hit(&self, limit: &Limit, subject: &str) -> Result<Remaining, RateLimitError> {
        self.limiter.hit(limit, subject).await
    }

    /// Counts an attempt that must be allowed; returns what is left.
    async fn allowed(&self, limit: &Limit, subject: &str) -> u32 {
        match self.hit(limit, subject).await {
            Ok(r) => r.remaining,
            Err(e) => panic!("{} for {subject:?} at {}: {e}", limit.action, self.now()),
        }
    }

    /// Counts an attempt that must be refused; returns the wait.
    async fn refused(&self, limit: &Limit, subject: &str) -> u64 {
        match self.hit(limit, subject).await {
            Err(RateLimitError::Blocked { retry_after_secs }) => retry_after_secs,
            other => panic!("{} should be blocked: {other:?}", limit.action),
        }
    }

    async fn peek_wait(&self, limit: &Limit, subject: &str) -> u64 {
        match self.limiter.peek(limit, subject).await {
            Err(RateLimitError::Blocked { retry_after_secs }) => retry_after_secs,
            other => panic!("{} should peek blocked: {other:?}", limit.action),
        }
    }

    async fn peek_remaining(&self, limit: &Limit, subject: &str) -> u32 {
        self.limiter.peek(limit, subject).await.unwrap().remaining
    }

    async fn item(&self, key: &Key) -> Option<Item> {
        self.store.get(key).await.unwrap()
    }

    async fn strikes(&self, limit: &Limit, subject: &str) -> Option<i64> {
        let key = self.limiter.strikes_key(limit, subject).unwrap();
        self.item(&key).await.and_then(|i| i.num("strikes"))
    }
}

/// Runs every scenario as its own test against the backend `$world` (an async
/// expression giving a fresh `World`).
macro_rules! scenarios {
    ($world:expr) => {
        scenarios!(@each $world;
            twenty_concurrent_hits_on_a_limit_of_five_allow_exactly_five,
            twenty_concurrent_sign_in_attempts_allow_five_and_lock_once,
            a_burst_across_a_clock_boundary_is_refused,
            a_blocked_answer_says_when_to_retry,
            sign_in_back_off_doubles_caps_and_is_forgotten,
            sign_in_failures_outside_the_window_do_not_lock,
            mfa_lock_lasts_ten_minutes_from_the_tenth_failure,
            two_subjects_do_not_share_counters,
            the_stored_key_never_holds_the_subject_in_clear,
            reset_clears_counters_locks_and_strikes,
            peek_does_not_count,
            otp_sends_count_against_both_limits_or_neither,
            an_account_texts_at_most_five_distinct_numbers_a_day,
            the_deployment_ceiling_slides_and_holds_under_a_race,
        );
    };
    (@each $world:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let world = $world.await;
                crate::scenarios::$name(&world).await;
            }
        )*
    };
}

mod scenarios {
    use super::*;

    pub async fn twenty_concurrent_hits_on_a_limit_of_five_allow_exactly_five(w: &World) {
        // Given a subject with no IDV document attempts, 100 s into a 6-hour window
        w.set(T0_SECS + 100);
        let subject = "user-7Kq";
        // When 20 attempts arrive at once
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let limiter = Arc::clone(&w.limiter);
                tokio::spawn(async move { limiter.hit(&IDV_DOCUMENT, subject).await })
            })
            .collect();
        let (mut allowed, mut waits) = (Vec::new(), Vec::new());
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => allowed.push(r.remaining),
                Err(RateLimitError::Blocked { retry_after_secs }) => waits.push(retry_after_secs),
                Err(e) => panic!("not a block: {e}"),
            }
        }
        // Then exactly 5 pass, each seeing its own count, and 15 wait until the first
        // attempts leave the 6-hour window
        allowed.sort_unstable();
        assert_eq!(allowed, [0, 1, 2, 3, 4]);
        assert_eq!(waits, vec![6 * 3600; 15]);
        let key = w.limiter.counter_key(&IDV_DOCUMENT, subject);
        assert_eq!(w.item(&key).await.unwrap().num("count"), Some(5));
    }

    pub async fn twenty_concurrent_sign_in_attempts_allow_five_and_lock_once(w: &World) {
        // Given an email + IP with no failures
        w.set(T0_SECS);
        let subject = compound_subject(&["alice@example.gov", "203.0.113.7"]);
        // When 20 password attempts race in
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (limiter, subject) = (Arc::clone(&w.limiter), subject.clone());
                tokio::spawn(async move { limiter.hit(&SIGN_IN_FAILURES, &subject).await })
            })
            .collect();
        let (mut allowed, mut waits) = (Vec::new(), Vec::new());
        for t in tasks {
            match t.await.unwrap() {
                Ok(r) => allowed.push(r.remaining),
                Err(RateLimitError::Blocked { retry_after_secs }) => waits.push(retry_after_secs),
                Err(e) => panic!("not a block: {e}"),
            }
        }
        // Then five are checked, the fifth locks for 60 s, and the lock is one strike
        allowed.sort_unstable();
        assert_eq!(allowed, [0, 1, 2, 3, 4]);
        assert_eq!(waits, vec![60; 15]);
        assert_eq!(w.strikes(&SIGN_IN_FAILURES, &subject).await, Some(1));
        let key = w.limiter.counter_key(&SIGN_IN_FAILURES, &subject);
        let item = w.item(&key).await.unwrap();
        assert_eq!(
            (item.num("count"), item.expires_at),
            (Some(5), Some(T0_SECS + 60))
        );
        // And the next lock, after racing again, is twice as long and one more strike
        w.advance(60);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (limiter, subject) = (Arc::clone(&w.limiter), subject.clone());
                tokio::spawn(async move { limiter.hit(&SIGN_IN_FAILURES, &subject).await })
            })
            .collect();
        let mut passed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => passed += 1,
                Err(e) => assert_eq!(e.retry_after_secs(), Some(120), "{e}"),
            }
        }
        assert_eq!(passed, 5);
        assert_eq!(w.strikes(&SIGN_IN_FAILURES, &subject).await, Some(2));
    }

    pub async fn a_burst_across_a_clock_boundary_is_refused(w: &World) {
        // Given a phone texted every 5 s from 50 s before a 5-minute clock boundary
        // (fixed windows let 18 through in these 85 s: 10 before it, 8 after)
        w.set(T0_SECS + 250);
        let phone = "+15555550100";
        let both = [&OTP_SENDS_SHORT, &OTP_SENDS_LONG];
        let mut sent = 0;
        let mut waits = Vec::new();
        // When 18 sends are asked for, through the boundary at T0 + 300
        for _ in 0..18 {
            match w.limiter.hit_all(&both, phone).await {
                Ok(_) => sent += 1,
                Err(e) => waits.push(e.retry_after_secs().unwrap()),
            }
            w.advance(5);
        }
        // Then 10 go out in the whole burst, and each refusal waits for the oldest send to
        // be 5 minutes old, not for the clock's next window
        assert_eq!(sent, 10);
        assert_eq!(waits, [250, 245, 240, 235, 230, 225, 220, 215]);
        // And a burst of 2 right before a 10-second boundary stops a third right after it
        w.set(T0_SECS + 1000 + 9);
        let other = "+15555550101";
        assert_eq!(w.allowed(&OTP_SENDS_SHORT, other).await, 1);
        assert_eq!(w.allowed(&OTP_SENDS_SHORT, other).await, 0);
        w.set(T0_SECS + 1000 + 10);
        assert_eq!(w.refused(&OTP_SENDS_SHORT, other).await, 9);
        w.set(T0_SECS + 1000 + 19);
        assert_eq!(w.allowed(&OTP_SENDS_SHORT, other).await, 1);
        // And the log cleans itself up a minute after its newest attempt leaves the window
        let key = w.limiter.counter_key(&OTP_SENDS_SHORT, other);
        let item = w.item(&key).await.unwrap();
        assert_eq!(item.expires_at, Some(T0_SECS + 1000 + 19 + 10 + 60));
        w.set(T0_SECS + 1000 + 19 + 10 + 60);
        assert!(w.item(&key).await.is_none());
    }

    pub async fn a_blocked_answer_says_when_to_retry(w: &World) {
        // Given 20 registration emails sent to one address, 100 s into the hour
        w.set(T0_SECS + 100);
        let email = "bob@example.gov";
        for left in (0..20).rev() {
            assert_eq!(w.allowed(&REGISTRATION_EMAILS, email).await, left);
        }
        // When a 21st is asked for now, and again 1000 s later
        let first = w.refused(&REGISTRATION_EMAILS, email).await;
        w.advance(1000);
        let later = w.refused(&REGISTRATION_EMAILS, email).await;
        // Then each answer names when the first of them is an hour old, and peeking agrees
        assert_eq!((first, later), (3600, 2600));
        assert_eq!(w.peek_wait(&REGISTRATION_EMAILS, email).await, 2600);
        // And refused attempts were not counted: an hour after the 20, 20 again
        w.advance(2600);
        assert_eq!(w.allowed(&REGISTRATION_EMAILS, email).await, 19);
    }

    pub async fn sign_in_back_off_doubles_caps_and_is_forgotten(w: &World) {
        // Given an email + IP that keeps failing five times as soon as it may
        w.set(T0_SECS + 17);
        let subject = compound_subject(&["carol@example.gov", "198.51.100.4"]);
        for (strike, lock) in [60, 120, 240, 480, 960, 1920, 3600, 3600]
            .into_iter()
            .enumerate()
        {
            for left in (0..5).rev() {
                assert_eq!(w.allowed(&SIGN_IN_FAILURES, &subject).await, left);
            }
            // When it tries again, just before the lock ends, then when it ends
            assert_eq!(w.refused(&SIGN_IN_FAILURES, &subject).await, lock);
            w.advance(lock as i64 - 1);
            // Then each lock doubles, up to the one-hour cap, and lasts exactly that long
            assert_eq!(w.refused(&SIGN_IN_FAILURES, &subject).await, 1);
            w.advance(1);
            assert_eq!(w.peek_remaining(&SIGN_IN_FAILURES, &subject).await, 5);
            let strikes = w.strikes(&SIGN_IN_FAILURES, &subject).await;
            assert_eq!(strikes, Some(strike as i64 + 1));
        }
        // And a day without locks forgets the strikes: the next lock is 60 s again
        w.advance(24 * 3600);
        assert_eq!(w.strikes(&SIGN_IN_FAILURES, &subject).await, None);
        for _ in 0..5 {
            w.allowed(&SIGN_IN_FAILURES, &subject).await;
        }
        assert_eq!(w.refused(&SIGN_IN_FAILURES, &subject).await, 60);
    }

    pub async fn sign_in_failures_outside_the_window_do_not_lock(w: &World) {
        // Given four failures
        w.set(T0_SECS + 30);
        let subject = compound_subject(&["dan@example.gov", "192.0.2.1"]);
        for _ in 0..4 {
            w.allowed(&SIGN_IN_FAILURES, &subject).await;
        }
        // When the fifth comes 60 s after the first
        w.advance(60);
        let left = w.allowed(&SIGN_IN_FAILURES, &subject).await;
        // Then a new window has started with it: no lock, four left
        assert_eq!(left, 4);
        assert_eq!(w.strikes(&SIGN_IN_FAILURES, &subject).await, None);
    }

    pub async fn mfa_lock_lasts_ten_minutes_from_the_tenth_failure(w: &World) {
        // Given an account 590 s into a 10-minute-aligned period
        w.set(T0_SECS + 590);
        let account = "user-mfa";
        // When six codes fail, then four more 100 s later
        let mut remaining = Vec::new();
        for _ in 0..6 {
            remaining.push(w.allowed(&MFA_FAILURES, account).await);
        }
        w.advance(100);
        for _ in 0..4 {
            remaining.push(w.allowed(&MFA_FAILURES, account).await);
        }
        // Then "remaining" counts down and the page warns from the 7th failure (3 left)
        assert_eq!(remaining, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
        let warns: Vec<bool> = remaining
            .iter()
            .map(|&r| Remaining { remaining: r }.warn(MFA_WARN_WHEN_REMAINING))
            .collect();
        assert_eq!(warns.iter().position(|&b| b), Some(6));
        // And the lock runs 10 minutes from the 10th failure (T0 + 690), not from a
        // window start: still locked at T0 + 1200, a window boundary
        assert_eq!(w.refused(&MFA_FAILURES, account).await, 600);
        w.set(T0_SECS + 1200);
        assert_eq!(w.refused(&MFA_FAILURES, account).await, 90);
        w.set(T0_SECS + 690 + 599);
        assert_eq!(w.peek_wait(&MFA_FAILURES, account).await, 1);
        assert_eq!(w.refused(&MFA_FAILURES, account).await, 1);
        w.advance(1);
        assert_eq!(w.allowed(&MFA_FAILURES, account).await, 9);
        // A fixed lock keeps no strikes
        assert_eq!(w.limiter.strikes_key(&MFA_FAILURES, account), None);
    }

    pub async fn two_subjects_do_not_share_counters(w: &World) {
        // Given Alice has used every personal-key try and is locked out of sign-in on one IP
        w.set(T0_SECS);
        for _ in 0..5 {
            w.allowed(&PERSONAL_KEY, "alice").await;
        }
        w.refused(&PERSONAL_KEY, "alice").await;
        let alice_home = compound_subject(&["alice@example.gov", "203.0.113.7"]);
        for _ in 0..5 {
            w.allowed(&SIGN_IN_FAILURES, &alice_home).await;
        }
        w.refused(&SIGN_IN_FAILURES, &alice_home).await;
        // When Bob tries, Alice tries another limit, and Alice signs in from another IP
        let bob = w.allowed(&PERSONAL_KEY, "bob").await;
        let alice_letter = w.allowed(&LETTER_CODE_TRIES, "alice").await;
        let alice_work = compound_subject(&["alice@example.gov", "198.51.100.9"]);
        let alice_elsewhere = w.allowed(&SIGN_IN_FAILURES, &alice_work).await;
        // Then each has its own full counter
        assert_eq!((bob, alice_letter, alice_elsewhere), (4, 4, 4));
        assert_ne!(
            w.limiter.partition(&PERSONAL_KEY, "alice"),
            w.limiter.partition(&PERSONAL_KEY, "bob")
        );
    }

    pub async fn the_stored_key_never_holds_the_subject_in_clear(w: &World) {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use hmac::{Hmac, KeyInit, Mac};

        // Given personal subjects: an email, an SSN, a phone, an email + IP
        w.set(T0_SECS + 5);
        let signin = compound_subject(&["eve.martin@example.gov", "203.0.113.77"]);
        let cases: [(&Limit, &str); 4] = [
            (&RESET_EMAILS, "eve.martin@example.gov"),
            (&IDV_SSN, "900123456"),
            (&OTP_SENDS_LONG, "+15555550123"),
            (&SIGN_IN_FAILURES, &signin),
        ];
        for (limit, subject) in cases {
            // When an attempt is counted
            w.allowed(limit, subject).await;
            // Then the item's key is RL#<action>#<HMAC-SHA256 fingerprint, base64url>
            let key = w.limiter.counter_key(limit, subject);
            let mut mac =
                <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&FINGERPRINT_KEY).unwrap();
            mac.update(b"passerelle/ratelimit/v1\0");
            mac.update(limit.action.as_bytes());
            mac.update(b"\0");
            mac.update(subject.as_bytes());
            let fp = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
            assert_eq!(key.pk, format!("RL#{}#{fp}", limit.action));
            // And neither the key nor any attribute holds the subject or a part of it
            let item = w.item(&key).await.expect("the counter was stored");
            let stored = format!("{} {} {:?}", key.pk, key.sk, item.attrs);
            let parts = [
                "eve",
                "martin",
                "example",
                "203.0.113",
                "900123456",
                "5555550123",
            ];
            for part in parts {
                assert!(!stored.contains(part), "{part:?} appears in {stored}");
            }
            assert_eq!(item.num("count"), Some(1));
            if limit.lockout.is_none() {
                assert_eq!(key.sk, "LOG");
                assert_eq!(
                    item.str("times"),
                    Some(((T0_SECS + 5) * 1000).to_string().as_str())
                );
                assert_eq!(item.expires_at, Some(T0_SECS + 5 + limit.window_secs + 60));
            }
        }
        // And the fingerprint depends on the key and the action, so counters cannot be
        // linked across actions, nor recomputed without the key
        let other = RateLimiter::new(
            Arc::clone(&w.store),
            w.clock.clone(),
            SecretKey::from_bytes([8; 32]),
        );
        let pk = |l: &RateLimiter, limit: &Limit| l.partition(limit, "eve.martin@example.gov");
        assert_ne!(pk(&w.limiter, &RESET_EMAILS), pk(&other, &RESET_EMAILS));
        let fp = |p: String| p.rsplit('#').next().unwrap().to_owned();
        assert_ne!(
            fp(pk(&w.limiter, &RESET_EMAILS)),
            fp(pk(&w.limiter, &REGISTRATION_EMAILS))
        );
        assert!(!format!("{:?}", w.limiter).contains("7, 7"));
    }

    pub async fn reset_clears_counters_locks_and_strikes(w: &World) {
        // Given exhausted reset emails, and a sign-in locked twice
        w.set(T0_SECS + 42);
        for _ in 0..20 {
            w.allowed(&RESET_EMAILS, "frank@example.gov").await;
        }
        let subject = compound_subject(&["frank@example.gov", "192.0.2.8"]);
        for lock in [60, 120] {
            for _ in 0..5 {
                w.allowed(&SIGN_IN_FAILURES, &subject).await;
            }
            assert_eq!(w.refused(&SIGN_IN_FAILURES, &subject).await, lock);
            w.advance(lock as i64);
        }
        for _ in 0..5 {
            w.allowed(&SIGN_IN_FAILURES, &subject).await;
        }
        assert_eq!(w.strikes(&SIGN_IN_FAILURES, &subject).await, Some(3));
        // When both are reset (e.g. the password was right after all)
        w.limiter
            .reset(&RESET_EMAILS, "frank@example.gov")
            .await
            .unwrap();
        w.limiter.reset(&SIGN_IN_FAILURES, &subject).await.unwrap();
        // Then both start afresh: all attempts back, no lock, and the next lock is 60 s
        assert_eq!(
            w.peek_remaining(&RESET_EMAILS, "frank@example.gov").await,
            20
        );
        assert_eq!(w.peek_remaining(&SIGN_IN_FAILURES, &subject).await, 5);
        assert_eq!(w.strikes(&SIGN_IN_FAILURES, &subject).await, None);
        for _ in 0..5 {
            w.allowed(&SIGN_IN_FAILURES, &subject).await;
        }
        assert_eq!(w.refused(&SIGN_IN_FAILURES, &subject).await, 60);
        // And resetting what was never counted is fine
        w.limiter.reset(&IDV_ADDRESS, "nobody").await.unwrap();
    }

    pub async fn peek_does_not_count(w: &World) {
        // Given a fresh subject
        w.set(T0_SECS);
        // When it peeks three times, then resolves once, then peeks again
        for _ in 0..3 {
            assert_eq!(w.peek_remaining(&IDV_RESOLUTION, "grace").await, 5);
        }
        assert_eq!(w.allowed(&IDV_RESOLUTION, "grace").await, 4);
        // Then only the attempt counted
        assert_eq!(w.peek_remaining(&IDV_RESOLUTION, "grace").await, 4);
        assert_eq!(w.peek_remaining(&MFA_FAILURES, "grace").await, 10);
        assert!(
            w.item(&w.limiter.counter_key(&MFA_FAILURES, "grace"))
                .await
                .is_none()
        );
    }

    pub async fn otp_sends_count_against_both_limits_or_neither(w: &World) {
        // Given a phone that sent two codes 4 s into a 10-second window
        w.set(T0_SECS + 4);
        let phone = "+15555550199";
        let both = [&OTP_SENDS_SHORT, &OTP_SENDS_LONG];
        let send = || w.limiter.hit_all(&both, phone);
        assert_eq!(send().await.unwrap().remaining, 1);
        assert_eq!(send().await.unwrap().remaining, 0);
        // When a third send is asked for at once
        let third = send().await.unwrap_err();
        // Then the short limit refuses it until the two are 10 s old, and the long limit
        // did not count it
        assert_eq!(third.retry_after_secs(), Some(10));
        assert_eq!(w.peek_remaining(&OTP_SENDS_LONG, phone).await, 8);
        // And sending twice every 10 s reaches the long limit's 10 after 40 s, refused
        // until the first two are 5 minutes old
        for _ in 0..4 {
            w.advance(10);
            send().await.unwrap();
            send().await.unwrap();
        }
        w.advance(10);
        let refused = send().await.unwrap_err();
        assert_eq!(refused.retry_after_secs(), Some(300 - 50));
        assert_eq!(w.peek_remaining(&OTP_SENDS_SHORT, phone).await, 2);
    }

    pub async fn an_account_texts_at_most_five_distinct_numbers_a_day(w: &World) {
        // Given an account that texted five numbers over the morning
        w.set(T0_SECS);
        let account = "user-pump";
        let number = |i: u32| format!("+1555555{i:04}");
        for i in 0..5 {
            let left = w
                .limiter
                .hit_distinct(&OTP_NUMBERS_PER_ACCOUNT, account, &number(i))
                .await
                .unwrap();
            assert_eq!(left.remaining, 4 - i);
            w.advance(600);
        }
        // When it texts one of them again, then a sixth number
        let again = w
            .limiter
            .hit_distinct(&OTP_NUMBERS_PER_ACCOUNT, account, &number(2))
            .await;
        let sixth = w
            .limiter
            .hit_distinct(&OTP_NUMBERS_PER_ACCOUNT, account, &number(5))
            .await
            .unwrap_err();
        // Then a number already counted is free, and the sixth waits until the first is
        // a day old
        assert_eq!(again.unwrap().remaining, 0);
        assert_eq!(sixth.retry_after_secs(), Some(24 * 3600 - 5 * 600));
        // And another account is not affected, nor are the numbers stored in clear
        let other = w
            .limiter
            .hit_distinct(&OTP_NUMBERS_PER_ACCOUNT, "user-honest", &number(5))
            .await
            .unwrap();
        assert_eq!(other.remaining, 4);
        let key = passerelle::store::Key::new(
            w.limiter.partition(&OTP_NUMBERS_PER_ACCOUNT, account),
            "DISTINCT",
        );
        let stored = format!("{:?}", w.item(&key).await.unwrap().attrs);
        assert!(!stored.contains("5555"), "{stored}");
        // And a day after the first, one slot is free again
        w.set(T0_SECS + 24 * 3600);
        w.limiter
            .hit_distinct(&OTP_NUMBERS_PER_ACCOUNT, account, &number(5))
            .await
            .unwrap();
        // And ten numbers raced from a fresh account: exactly five are counted
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let limiter = Arc::clone(&w.limiter);
                tokio::spawn(async move {
                    limiter
                        .hit_distinct(&OTP_NUMBERS_PER_ACCOUNT, "user-race", &number(100 + i))
                        .await
                })
            })
            .collect();
        let mut passed = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                passed += 1;
            }
        }
        assert_eq!(passed, 5);
    }

    pub async fn the_deployment_ceiling_slides_and_holds_under_a_race(w: &World) {
        // Given an operator ceiling of 10 texts an hour, reached 50 minutes into an hour
        let ceiling = sms_ceiling(10);
        w.set(T0_SECS + 3000);
        for left in (0..10).rev() {
            assert_eq!(w.allowed(&ceiling, SMS_CEILING_SUBJECT).await, left);
        }
        // When the clock's hour turns, the ten still count: nothing goes out
        assert_eq!(w.refused(&ceiling, SMS_CEILING_SUBJECT).await, 600);
        w.set(T0_SECS + 3600);
        assert!(w.hit(&ceiling, SMS_CEILING_SUBJECT).await.is_err());
        // Half an hour later, half of them have slid out: five more, raced by twenty
        w.set(T0_SECS + 3600 + 1800);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let limiter = Arc::clone(&w.limiter);
                tokio::spawn(async move { limiter.hit(&ceiling, SMS_CEILING_SUBJECT).await })
            })
            .collect();
        let mut passed = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => passed += 1,
                Err(RateLimitError::Blocked { .. }) => {}
                Err(e) => panic!("not a block: {e}"),
            }
        }
        assert_eq!(passed, 5);
        assert!(w.limiter.peek(&ceiling, SMS_CEILING_SUBJECT).await.is_err());
        // And once a full hour has passed without texts, all ten again
        w.set(T0_SECS + 3 * 3600);
        assert_eq!(w.peek_remaining(&ceiling, SMS_CEILING_SUBJECT).await, 10);
    }
}

#[cfg(feature = "embedded")]
mod embedded {
    use super::*;
    use passerelle::sqlite::Db;
    use passerelle::store::embedded::EmbeddedStore;

    async fn world() -> World {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = Db::in_dir(dir.path()).expect("the embedded database opens");
        let clock = World::clock_at(T0_SECS);
        let store = Arc::new(EmbeddedStore::new(db, clock.clone()));
        World::new(clock, store, Box::new(dir))
    }

    scenarios!(world());
}

/// The same scenarios on DynamoDB (moto), each in its own table.
///
/// moto applies a conditional write as "read, check, write" in a threaded server with no
/// lock per item, so two racing updates can both pass `count < 5` and both write 5 (seen
/// here: six of twenty hits allowed). DynamoDB applies each conditional write atomically,
/// and that per-call atomicity is all the limiter relies on. So the moto store is
/// wrapped to run one call at a time: the calls of racing hits still interleave (a read
/// goes stale, a conditional write is refused, the limiter reads again), which is what
/// the concurrent scenarios test on top of the store.
#[cfg(feature = "aws")]
mod moto {
    use async_trait::async_trait;
    use passerelle::aws::AwsClients;
    use passerelle::random::{OsRandom, RandomExt};
    use passerelle::store::dynamo::DynamoStore;
    use passerelle::store::{Expect, Page, Query, StoreResult, Update, Write};
    use tokio::sync::Mutex;

    use super::*;

    /// One store call at a time, as DynamoDB would serialise writes to one item.
    #[derive(Debug)]
    struct OneCallAtATime {
        inner: DynamoStore,
        turn: Mutex<()>,
    }

    #[async_trait]
    impl Store for OneCallAtATime {
        fn adapter(&self) -> &'static str {
            self.inner.adapter()
        }
        async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
            let _turn = self.turn.lock().await;
            self.inner.get(key).await
        }
        async fn put(&self, item: Item, expect: Expect) -> StoreResult<u64> {
            let _turn = self.turn.lock().await;
            self.inner.put(item, expect).await
        }
        async fn update(&self, update: Update, expect: Expect) -> StoreResult<Item> {
            let _turn = self.turn.lock().await;
            self.inner.update(update, expect).await
        }
        async fn delete(&self, key: &Key, expect: Expect) -> StoreResult<Option<Item>> {
            let _turn = self.turn.lock().await;
            self.inner.delete(key, expect).await
        }
        async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
            let _turn = self.turn.lock().await;
            self.inner.transact(writes).await
        }
        async fn query(&self, query: &Query) -> StoreResult<Page> {
            let _turn = self.turn.lock().await;
            self.inner.query(query).await
        }
    }

    /// Deletes the scenario's table when it ends, so moto's state stays small.
    struct Table {
        client: aws_sdk_dynamodb::Client,
        name: String,
    }

    impl Drop for Table {
        fn drop(&mut self) {
            let (client, name) = (self.client.clone(), self.name.clone());
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(async move {
                    let _ = client.delete_table().table_name(name).send().await;
                })
            });
        }
    }

    async fn world() -> World {
        let url = std::env::var("PASSERELLE_TEST_MOTO_URL").unwrap_or_else(|_| {
            panic!(
                "the rate-limit scenarios on DynamoDB need moto_server: run `cargo xtask test`, \
                 or start moto and set PASSERELLE_TEST_MOTO_URL"
            )
        });
        let clients = AwsClients::for_moto(&url).await;
        let name = format!("ratelimit-{}", OsRandom.token(6).to_lowercase());
        DynamoStore::create_table(&clients.dynamodb, &name)
            .await
            .expect("moto creates the table");
        let clock = World::clock_at(T0_SECS);
        let store = Arc::new(OneCallAtATime {
            inner: DynamoStore::new(clients.dynamodb.clone(), &name, clock.clone()),
            turn: Mutex::new(()),
        });
        let table = Table {
            client: clients.dynamodb.clone(),
            name,
        };
        World::new(clock, store, Box::new(table))
    }

    scenarios!(world());
}

/// A store that always fails, for the error mapping (no backend needed).
mod outage {
    use async_trait::async_trait;
    use passerelle::store::{Expect, Page, Query, StoreError, StoreResult, Update, Write};

    use super::*;

    #[derive(Debug)]
    struct Down;

    fn down<T>() -> StoreResult<T> {
        Err(StoreError::Unavailable("connection refused".into()))
    }

    #[async_trait]
    impl Store for Down {
        fn adapter(&self) -> &'static str {
            "down"
        }
        async fn get(&self, _: &Key) -> StoreResult<Option<Item>> {
            down()
        }
        async fn put(&self, _: Item, _: Expect) -> StoreResult<u64> {
            down()
        }
        async fn update(&self, _: Update, _: Expect) -> StoreResult<Item> {
            down()
        }
        async fn delete(&self, _: &Key, _: Expect) -> StoreResult<Option<Item>> {
            down()
        }
        async fn transact(&self, _: Vec<Write>) -> StoreResult<()> {
            down()
        }
        async fn query(&self, _: &Query) -> StoreResult<Page> {
            down()
        }
    }

    #[tokio::test]
    async fn a_store_failure_is_an_error_not_a_block() {
        // Given a store that is down
        let limiter = RateLimiter::new(
            Arc::new(Down),
            World::clock_at(T0_SECS),
            SecretKey::from_bytes(FINGERPRINT_KEY),
        );
        // When anything is asked of the limiter
        let results = [
            limiter.hit(&IDV_DOCUMENT, "x").await.map(drop),
            limiter.hit(&SIGN_IN_FAILURES, "x").await.map(drop),
            limiter
                .hit_all(&[&OTP_SENDS_SHORT, &OTP_SENDS_LONG], "x")
                .await
                .map(drop),
            limiter.peek(&MFA_FAILURES, "x").await.map(drop),
            limiter.reset(&SIGN_IN_FAILURES, "x").await,
        ];
        // Then each answer is a store error, which the web layer must not show as 429
        for r in results {
            let e = r.unwrap_err();
            assert!(matches!(e, RateLimitError::Store(_)), "{e:?}");
            assert_eq!(e.retry_after_secs(), None);
        }
    }

    #[tokio::test]
    async fn malformed_limits_are_refused_before_the_store() {
        let limiter = RateLimiter::new(
            Arc::new(Down),
            World::clock_at(T0_SECS),
            SecretKey::from_bytes(FINGERPRINT_KEY),
        );
        let bad = Limit::per_window("with#hash", 1, 60);
        assert!(matches!(
            limiter.hit(&bad, "x").await,
            Err(RateLimitError::Invalid("with#hash"))
        ));
        assert!(matches!(
            limiter.hit_all(&[&SIGN_IN_FAILURES], "x").await,
            Err(RateLimitError::Invalid("sign_in"))
        ));
    }
}
