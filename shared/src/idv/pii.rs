//! The personal data a verification collects (IDV-1): what the document says, the SSN,
//! the phone used to confirm the address. Every field is PII: `Debug` shows none of it,
//! the values are zeroized when dropped, and the JSON form only ever travels sealed.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The minimum age to verify (IDV-1).
pub const MIN_AGE_YEARS: i32 = 18;

#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Address {
    /// 1 to 100 characters.
    pub line1: String,
    /// 0 to 100 characters.
    #[serde(default)]
    pub line2: String,
    /// 1 to 60 characters.
    pub city: String,
    /// Two-letter USPS code (`VA`, `DC`, `PR` …), uppercase.
    pub state: String,
    /// Five digits, or ZIP+4 as `12345-6789`.
    pub zip: String,
}

/// A person's identity as the document and the person state it, before and after checks.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Pii {
    /// 1 to 60 characters.
    pub given_name: String,
    /// 1 to 60 characters.
    pub family_name: String,
    /// `YYYY-MM-DD`, a real date, at least [`MIN_AGE_YEARS`] ago.
    pub birthdate: String,
    pub address: Address,
    /// The state ID's number: 1 to 25 letters or digits.
    pub id_number: String,
    /// The state that issued the ID (two-letter code).
    pub id_state: String,
    /// Nine digits, no separators (`123456789`).
    #[serde(default)]
    pub ssn: String,
    /// E.164 (`+17035550123`) once the address is confirmed by phone; empty otherwise.
    #[serde(default)]
    pub phone: String,
    /// When the checks passed (ms since the epoch); 0 until then.
    #[serde(default)]
    pub verified_ms: i64,
}

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pii([redacted])")
    }
}

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Address([redacted])")
    }
}

/// Which field is wrong, so the page can point at it; never the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    #[error("the first name must be 1 to 60 characters")]
    GivenName,
    #[error("the last name must be 1 to 60 characters")]
    FamilyName,
    #[error("the date of birth must be a real date written YYYY-MM-DD")]
    Birthdate,
    #[error("you must be 18 or older to verify your identity")]
    TooYoung,
    #[error("the street address must be 1 to 100 characters")]
    Line1,
    #[error("the second address line must be at most 100 characters")]
    Line2,
    #[error("the city must be 1 to 60 characters")]
    City,
    #[error("the state must be a two-letter code such as VA")]
    State,
    #[error("the ZIP code must be 5 digits, or 9 written 12345-6789")]
    Zip,
    #[error("the ID number must be 1 to 25 letters or digits")]
    IdNumber,
    #[error("the Social Security number must be 9 digits")]
    Ssn,
}

/// The USPS codes of the states, DC and the territories.
const STATES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI",
];

pub fn valid_state(code: &str) -> bool {
    STATES.contains(&code)
}

fn sized(text: &str, min: usize, max: usize) -> bool {
    let n = text.trim().chars().count();
    (min..=max).contains(&n) && !text.chars().any(char::is_control)
}

/// Parses `YYYY-MM-DD` into (year, month, day) when it names a real date.
pub fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        text.get(r)?.bytes().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = (digits(0..4)? as i32, digits(5..7)?, digits(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (y >= 1900 && (1..=days).contains(&d)).then_some((y, m, d))
}

/// The civil date (UTC) of a time in ms since the epoch.
pub fn civil_date(ms: i64) -> (i32, u32, u32) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

/// Whether someone born on `birth` is at least `years` old on `today`.
pub fn age_at_least(birth: (i32, u32, u32), today: (i32, u32, u32), years: i32) -> bool {
    let (by, bm, bd) = birth;
    let (ty, tm, td) = today;
    let mut age = ty - by;
    if (tm, td) < (bm, bd) {
        age -= 1;
    }
    age >= years
}

/// `123-45-6789`, `123 45 6789` or `123456789` → `123456789`.
pub fn normalise_ssn(text: &str) -> Option<String> {
    let digits: String = text.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    (digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl Address {
    /// Trims and uppercases what the person typed; call before [`Address::validate`].
    pub fn normalise(&mut self) {
        for field in [&mut self.line1, &mut self.line2, &mut self.city] {
            *field = field.trim().to_owned();
        }
        self.state = self.state.trim().to_ascii_uppercase();
        self.zip = self.zip.trim().to_owned();
    }

    pub fn validate(&self) -> Result<(), PiiError> {
        if !sized(&self.line1, 1, 100) {
            return Err(PiiError::Line1);
        }
        if !sized(&self.line2, 0, 100) {
            return Err(PiiError::Line2);
        }
        if !sized(&self.city, 1, 60) {
            return Err(PiiError::City);
        }
        if !valid_state(&self.state) {
            return Err(PiiError::State);
        }
        let zip = self.zip.as_bytes();
        let five = zip.len() == 5 && zip.iter().all(u8::is_ascii_digit);
        let nine = zip.len() == 10
            && zip[5] == b'-'
            && zip[..5].iter().chain(&zip[6..]).all(u8::is_ascii_digit);
        if !(five || nine) {
            return Err(PiiError::Zip);
        }
        Ok(())
    }

    /// The first five digits of the ZIP code.
    pub fn zip5(&self) -> &str {
        self.zip.get(..5).unwrap_or(&self.zip)
    }
}

impl Pii {
    /// Trims names and the address, uppercases codes; call before [`Pii::validate`].
    pub fn normalise(&mut self) {
        self.given_name = self.given_name.trim().to_owned();
        self.family_name = self.family_name.trim().to_owned();
        self.birthdate = self.birthdate.trim().to_owned();
        self.id_number = self.id_number.trim().to_ascii_uppercase();
        self.id_state = self.id_state.trim().to_ascii_uppercase();
        self.address.normalise();
    }

    /// Checks what the review page lets the person edit; the SSN is checked by
    /// [`normalise_ssn`] on its own page.
    pub fn validate(&self, now_ms: i64) -> Result<(), PiiError> {
        if !sized(&self.given_name, 1, 60) {
            return Err(PiiError::GivenName);
        }
        if !sized(&self.family_name, 1, 60) {
            return Err(PiiError::FamilyName);
        }
        let birth = parse_date(&self.birthdate).ok_or(PiiError::Birthdate)?;
        let today = civil_date(now_ms);
        if birth > today {
            return Err(PiiError::Birthdate);
        }
        if !age_at_least(birth, today, MIN_AGE_YEARS) {
            return Err(PiiError::TooYoung);
        }
        self.address.validate()?;
        let id = self.id_number.as_bytes();
        if id.is_empty() || id.len() > 25 || !id.iter().all(u8::is_ascii_alphanumeric) {
            return Err(PiiError::IdNumber);
        }
        if !valid_state(&self.id_state) {
            return Err(PiiError::State);
        }
        Ok(())
    }

    /// The year of birth, for the name+ZIP+year fingerprint (IDV-6).
    pub fn birth_year(&self) -> Option<i32> {
        parse_date(&self.birthdate).map(|(y, _, _)| y)
    }

    pub fn to_json(&self) -> zeroize::Zeroizing<Vec<u8>> {
        // Serialising plain strings and integers cannot fail.
        zeroize::Zeroizing::new(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23T00:00:00Z
    const NOW: i64 = 1_795_392_000_000;

    fn sample() -> Pii {
        Pii {
            given_name: "Ada".into(),
            family_name: "Lovelace".into(),
            birthdate: "1990-02-28".into(),
            address: Address {
                line1: "1 Main St".into(),
                line2: String::new(),
                city: "Arlington".into(),
                state: "VA".into(),
                zip: "22201".into(),
            },
            id_number: "A1234567".into(),
            id_state: "VA".into(),
            ssn: String::new(),
            phone: String::new(),
            verified_ms: 0,
        }
    }

    #[test]
    fn a_complete_adult_identity_is_valid_and_debug_shows_nothing() {
        let pii = sample();
        assert_eq!(pii.validate(NOW), Ok(()));
        assert_eq!(format!("{pii:?}"), "Pii([redacted])");
        assert_eq!(civil_date(NOW), (2026, 11, 23));
    }

    #[test]
    fn seventeen_is_too_young_and_eighteen_today_is_old_enough() {
        let mut pii = sample();
        pii.birthdate = "2008-11-24".into();
        assert_eq!(pii.validate(NOW), Err(PiiError::TooYoung));
        pii.birthdate = "2008-11-23".into();
        assert_eq!(pii.validate(NOW), Ok(()));
    }

    #[test]
    fn impossible_dates_states_zips_and_ssns_are_refused() {
        let mut pii = sample();
        pii.birthdate = "1990-02-30".into();
        assert_eq!(pii.validate(NOW), Err(PiiError::Birthdate));
        pii.birthdate = "2030-01-01".into();
        assert_eq!(pii.validate(NOW), Err(PiiError::Birthdate));
        let mut pii = sample();
        pii.address.state = "ZZ".into();
        assert_eq!(pii.validate(NOW), Err(PiiError::State));
        pii.address.state = "VA".into();
        pii.address.zip = "2220".into();
        assert_eq!(pii.validate(NOW), Err(PiiError::Zip));
        pii.address.zip = "22201-1234".into();
        assert_eq!(pii.validate(NOW), Ok(()));
        assert_eq!(normalise_ssn("900-12-3456").as_deref(), Some("900123456"));
        assert_eq!(normalise_ssn("abc-de-fghi"), None);
        assert_eq!(normalise_ssn("90012345"), None);
    }
}
