//! What Passerelle limits, and how much: the product's rate limits (RL, MFA-6, IDV-4,
//! IDV-5) as named constants, checked at compile time.

/// A limit on one kind of attempt by one subject: at most `max` attempts in any span of
/// `window_secs` (a sliding window, never aligned to the clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Names the counter in the store key: lowercase ASCII letters, digits and `_`, so it
    /// can never collide with the key's `#` separators. Unique across the table.
    pub action: &'static str,
    /// Attempts allowed per window (at least 1).
    pub max: u32,
    /// The window's length in seconds (at least 1).
    pub window_secs: i64,
    /// `None`: a sliding window, counted as [`Counting`] says; the subject waits until the
    /// oldest attempt in the window leaves it. `Some`: the `max`-th attempt locks the
    /// subject from that moment (see [`Lockout`] and the module documentation).
    pub lockout: Option<Lockout>,
    /// How a sliding window is counted (ignored by locking limits).
    pub counting: Counting,
}

/// How a sliding window counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Exact: the times of the attempts still in the window, in one item (at most
    /// [`MAX_LOGGED`] of them). At most `max` in any `window_secs`, whatever the clock.
    Log,
    /// Estimated, for high counts (a deployment-wide ceiling): this fixed window's count
    /// plus the previous window's, weighted by how much of it the sliding window still
    /// covers. One atomic `ADD` per attempt, no read-modify-write on a hot item.
    Estimate,
}

/// The most attempts a [`Counting::Log`] limit may allow (its item holds each one's time).
pub const MAX_LOGGED: u32 = 64;

/// How a locking limit locks. The first lock lasts `lock_secs`; while the subject keeps
/// getting locked, each further lock doubles, up to `max_lock_secs`. The number of locks
/// ("strikes") is forgotten `forget_after_secs` after the last lock ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub lock_secs: i64,
    pub max_lock_secs: i64,
    pub forget_after_secs: i64,
}

impl Lockout {
    /// A lock of constant length: no back-off, so no strikes to remember.
    pub const fn fixed(lock_secs: i64) -> Self {
        Self {
            lock_secs,
            max_lock_secs: lock_secs,
            forget_after_secs: 0,
        }
    }

    /// Exponential back-off: `lock_secs`, twice that, four times … capped.
    pub const fn doubling(lock_secs: i64, max_lock_secs: i64, forget_after_secs: i64) -> Self {
        Self {
            lock_secs,
            max_lock_secs,
            forget_after_secs,
        }
    }

    /// Whether locks grow, which is what needs the strikes counter.
    pub const fn backs_off(&self) -> bool {
        self.max_lock_secs > self.lock_secs
    }

    /// The length of the lock that follows `strikes` earlier, remembered locks.
    pub const fn lock_after(&self, strikes: u32) -> i64 {
        // Past 2^40 the cap has long been reached; the clamp keeps the shift defined.
        let shift = if strikes > 40 { 40 } else { strikes };
        let doubled = self.lock_secs.saturating_mul(1i64 << shift);
        if doubled > self.max_lock_secs {
            self.max_lock_secs
        } else {
            doubled
        }
    }

    const fn is_valid(&self) -> bool {
        self.lock_secs >= 1 && self.max_lock_secs >= self.lock_secs && self.forget_after_secs >= 0
    }
}

impl Limit {
    /// At most `max` attempts in any span of `window_secs` (sliding, exact).
    pub const fn per_window(action: &'static str, max: u32, window_secs: i64) -> Self {
        Self {
            action,
            max,
            window_secs,
            lockout: None,
            counting: Counting::Log,
        }
    }

    /// The same limit counted as an estimate ([`Counting::Estimate`]), for high counts.
    pub const fn estimated(self) -> Self {
        Self {
            counting: Counting::Estimate,
            ..self
        }
    }

    /// The same count, but reaching `max` locks the subject as `lockout` says.
    pub const fn locking(self, lockout: Lockout) -> Self {
        Self {
            lockout: Some(lockout),
            ..self
        }
    }

    /// Whether the limit can be used: [`RateLimiter`](super::RateLimiter) refuses others
    /// with [`RateLimitError::Invalid`](super::RateLimitError::Invalid), and the table
    /// below is checked at compile time.
    pub const fn is_valid(&self) -> bool {
        let name = self.action.as_bytes();
        if name.is_empty() || name.len() > 64 {
            return false;
        }
        let mut i = 0;
        while i < name.len() {
            let b = name[i];
            if !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
                return false;
            }
            i += 1;
        }
        let lockout_ok = match &self.lockout {
            Some(l) => l.is_valid(),
            None => !matches!(self.counting, Counting::Log) || self.max <= MAX_LOGGED,
        };
        self.max >= 1 && self.window_secs >= 1 && lockout_ok
    }
}

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// ACC-3 / RL: password failures per email + IP (a
/// [`compound_subject`](super::compound_subject)): 5 per 60 s, then locks of 60 s, 120 s,
/// 240 s … up to an hour, the count of locks forgotten a day after the last one.
pub const SIGN_IN_FAILURES: Limit =
    Limit::per_window("sign_in", 5, MINUTE).locking(Lockout::doubling(MINUTE, HOUR, 24 * HOUR));

/// RL: password failures per email across every address, so a guesser spreading its
/// tries over many addresses is slowed too: 20 within 15 minutes lock the email for 60 s,
/// then 120 s, 240 s … up to an hour. A browser remembered for the account is not held
/// back by this lock (its owner is not locked out by a stranger), and the right password
/// clears the count.
pub const SIGN_IN_EMAIL_FAILURES: Limit = Limit::per_window("sign_in_email", 20, 15 * MINUTE)
    .locking(Lockout::doubling(MINUTE, HOUR, 24 * HOUR));

/// RL: sign-up confirmation emails per (normalised) email address.
pub const REGISTRATION_EMAILS: Limit = Limit::per_window("registration_email", 20, HOUR);

/// RL: password-reset emails per (normalised) email address.
pub const RESET_EMAILS: Limit = Limit::per_window("reset_email", 20, HOUR);

/// RL / MFA-3: one-time-code sends (SMS or voice) per E.164 phone number, short burst:
/// 2 in any 10 s. Use with [`OTP_SENDS_LONG`] through
/// [`RateLimiter::hit_all`](super::RateLimiter::hit_all).
pub const OTP_SENDS_SHORT: Limit = Limit::per_window("otp_send_short", 2, 10);

/// RL / MFA-3: one-time-code sends per E.164 phone number, sustained: 10 in any 5 minutes.
pub const OTP_SENDS_LONG: Limit = Limit::per_window("otp_send_long", 10, 5 * MINUTE);

/// RL (SMS pumping): distinct phone numbers one account may send codes to in any 24 hours,
/// with [`RateLimiter::hit_distinct`](super::RateLimiter::hit_distinct) (the subject is the
/// account, the member the number). 5, as many phones as an account may hold (MFA-3);
/// sending again to a number already counted costs nothing.
pub const OTP_NUMBERS_PER_ACCOUNT: Limit = Limit::per_window("otp_numbers", 5, DAY);

/// RL (SMS pumping): the deployment-wide ceiling on texts and calls per hour, set by the
/// operator (`PASSERELLE_SMS_PER_HOUR`, default [`DEFAULT_SMS_PER_HOUR`]); one subject,
/// [`SMS_CEILING_SUBJECT`]. Estimated (sliding, see [`Counting::Estimate`]): it may let a
/// few more through than `max` when the previous hour was uneven, never twice as many.
pub const fn sms_ceiling(per_hour: u32) -> Limit {
    Limit::per_window("sms_ceiling", per_hour, HOUR).estimated()
}

/// The ceiling's subject: the whole deployment.
pub const SMS_CEILING_SUBJECT: &str = "deployment";

/// The ceiling when the operator sets none.
pub const DEFAULT_SMS_PER_HOUR: u32 = 1000;

/// MFA-6: wrong second-factor codes per account: the 10th within 10 minutes of the first
/// locks every factor for 10 minutes from that moment (so, either way, at most 10 codes
/// are tried per 10 minutes). Warn when [`MFA_WARN_WHEN_REMAINING`] attempts remain.
pub const MFA_FAILURES: Limit =
    Limit::per_window("mfa", 10, 10 * MINUTE).locking(Lockout::fixed(10 * MINUTE));

/// MFA-6: the UI warns once this many MFA attempts remain.
pub const MFA_WARN_WHEN_REMAINING: u32 = 3;

/// IDV-5: document-capture submissions per account.
pub const IDV_DOCUMENT: Limit = Limit::per_window("idv_document", 5, 6 * HOUR);

/// IDV-5: identity-resolution checks per account.
pub const IDV_RESOLUTION: Limit = Limit::per_window("idv_resolution", 5, 6 * HOUR);

/// IDV-5: checks of one SSN, whichever account submits it (the subject is the SSN).
pub const IDV_SSN: Limit = Limit::per_window("idv_ssn", 10, HOUR);

/// IDV-5: address (phone-to-address) checks per account.
pub const IDV_ADDRESS: Limit = Limit::per_window("idv_address", 5, 6 * HOUR);

/// IDV-5: personal-key tries per account.
pub const PERSONAL_KEY: Limit = Limit::per_window("personal_key", 5, 15 * MINUTE);

/// IDV-4: letter-code tries per account.
pub const LETTER_CODE_TRIES: Limit = Limit::per_window("letter_code", 5, 10 * MINUTE);

/// IDV-4: letters sent per account, at most 4 in 30 days. The window opens with the first
/// letter, and the fourth locks until 30 days after it: a fixed window could let 8
/// through around its boundary, this one at most 6 in any 30 days (with
/// [`IDV_LETTER_GAP`]), 4 in a row. Check it with `peek` before [`IDV_LETTER_GAP`], count
/// it after, so that a refused letter uses up neither.
pub const IDV_LETTERS: Limit =
    Limit::per_window("idv_letter", 4, 30 * DAY).locking(Lockout::fixed(30 * DAY));

/// IDV-4: letters at least 24 hours apart: each letter locks the next for a day from the
/// moment it was requested (a one-attempt locking limit, exact, unlike a daily window).
pub const IDV_LETTER_GAP: Limit =
    Limit::per_window("idv_letter_gap", 1, DAY).locking(Lockout::fixed(DAY));

/// Every limit above, for documentation, operators' tooling and tests.
pub const ALL: &[Limit] = &[
    SIGN_IN_FAILURES,
    SIGN_IN_EMAIL_FAILURES,
    REGISTRATION_EMAILS,
    RESET_EMAILS,
    OTP_SENDS_SHORT,
    OTP_SENDS_LONG,
    OTP_NUMBERS_PER_ACCOUNT,
    sms_ceiling(DEFAULT_SMS_PER_HOUR),
    MFA_FAILURES,
    IDV_DOCUMENT,
    IDV_RESOLUTION,
    IDV_SSN,
    IDV_ADDRESS,
    PERSONAL_KEY,
    LETTER_CODE_TRIES,
    IDV_LETTERS,
    IDV_LETTER_GAP,
];

// A malformed limit in the table fails the build rather than the first request.
const _: () = {
    let mut i = 0;
    while i < ALL.len() {
        assert!(ALL[i].is_valid(), "a rate limit in the table is malformed");
        i += 1;
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for limit in ALL {
            assert!(seen.insert(limit.action), "{} twice", limit.action);
        }
    }

    #[test]
    fn locks_double_then_cap() {
        let l = SIGN_IN_FAILURES.lockout.unwrap();
        let locks: Vec<i64> = (0..8).map(|s| l.lock_after(s)).collect();
        assert_eq!(locks, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(l.lock_after(u32::MAX), 3600);
        assert!(!MFA_FAILURES.lockout.unwrap().backs_off());
    }

    #[test]
    fn malformed_limits_are_refused() {
        assert!(!Limit::per_window("has#hash", 1, 1).is_valid());
        assert!(!Limit::per_window("", 1, 1).is_valid());
        assert!(!Limit::per_window("Upper", 1, 1).is_valid());
        assert!(!Limit::per_window("ok", 0, 1).is_valid());
        assert!(!Limit::per_window("ok", 1, 0).is_valid());
        assert!(!Limit::per_window("ok", MAX_LOGGED + 1, 1).is_valid());
        assert!(
            Limit::per_window("ok", MAX_LOGGED + 1, 1)
                .estimated()
                .is_valid()
        );
        assert!(
            !Limit::per_window("ok", 1, 1)
                .locking(Lockout::doubling(10, 5, 0))
                .is_valid()
        );
    }
}
