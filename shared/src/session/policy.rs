//! The session timings of ACC-3, in one place.

/// Login.gov's published defaults; tests shorten nothing, they move the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Idle timeout: 15 minutes.
    pub idle_secs: i64,
    /// Absolute lifetime: 12 hours.
    pub absolute_secs: i64,
    /// The page warns this long before the idle timeout: 2.5 minutes.
    pub warn_before_secs: i64,
    /// Sensitive actions need a factor used this recently: 20 minutes.
    pub recent_factor_secs: i64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_secs: 15 * 60,
            absolute_secs: 12 * 60 * 60,
            warn_before_secs: 150,
            recent_factor_secs: 20 * 60,
        }
    }
}

impl SessionPolicy {
    /// The default policy with another idle timeout (`PASSERELLE_SESSION_IDLE_SECS`); the
    /// warning comes 150 s before the end, or halfway for timeouts under 5 minutes.
    pub fn with_idle_secs(idle_secs: i64) -> Self {
        Self {
            idle_secs,
            warn_before_secs: 150.min(idle_secs / 2),
            ..Self::default()
        }
    }
}
