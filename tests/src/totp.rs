//! RFC 6238 codes as an authentication app computes them (HMAC-SHA1, 30-second steps,
//! six digits), written here from the RFC rather than borrowed from the product, so the
//! browser tests check the product against the standard.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The length of one step, in seconds.
pub const STEP_SECS: i64 = 30;

/// The step `unix_secs` falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The six-digit code for `step` (RFC 4226 dynamic truncation).
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", binary % 1_000_000)
}

/// RFC 4648 base32 as the set-up page shows the key (upper case, maybe grouped by
/// spaces, no padding).
pub fn base32_decode(text: &str) -> Result<Vec<u8>, String> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = ALPHABET
            .find(c.to_ascii_uppercase())
            .ok_or_else(|| format!("{c:?} is not a base32 character in {text:?}"))?;
        bits = (bits << 5) | v as u64;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Ok(out)
}

/// An authentication app holding one key: it never hands out a code for a step it has
/// already used (the site accepts a code once), moving on to the next step instead, which
/// the site accepts as one step of clock drift.
#[derive(Debug, Clone)]
pub struct App {
    secret: Vec<u8>,
    last_step: Option<i64>,
}

impl App {
    pub fn new(secret: Vec<u8>) -> Self {
        Self {
            secret,
            last_step: None,
        }
    }

    /// From the key as the set-up page shows it.
    pub fn from_base32(text: &str) -> Result<Self, String> {
        base32_decode(text).map(Self::new)
    }

    /// A fresh code at `unix_secs` (the site's clock).
    pub fn code(&mut self, unix_secs: i64) -> String {
        let now = step_at(unix_secs);
        let step = self.last_step.map_or(now, |last| now.max(last + 1));
        self.last_step = Some(step);
        code_at_step(&self.secret, step)
    }

    /// A six-digit code the site must refuse at `unix_secs`: none of the codes of the
    /// steps around it (the site accepts one step of drift), nor the app's next one.
    pub fn wrong_code(&self, unix_secs: i64) -> String {
        let now = step_at(unix_secs);
        let near: Vec<String> = (now - 2..=now + 2)
            .chain(self.last_step.map(|s| s + 1))
            .map(|s| code_at_step(&self.secret, s))
            .collect();
        (0..)
            .map(|n: u32| format!("{:06}", (123_456 + n * 111_111) % 1_000_000))
            .find(|c| !near.contains(c))
            .expect("a code outside a handful")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the last six of the eight digits).
    #[test]
    fn rfc_6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at_step(secret, step_at(time)), eight[2..], "at {time}");
        }
    }

    #[test]
    fn base32_round_trip() {
        assert_eq!(
            base32_decode("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ").unwrap(),
            b"12345678901234567890"
        );
        assert!(base32_decode("not base32!").is_err());
    }

    #[test]
    fn an_app_never_repeats_a_step() {
        let mut app = App::new(b"12345678901234567890".to_vec());
        let first = app.code(59);
        let second = app.code(59);
        assert_eq!(first, code_at_step(b"12345678901234567890", 1));
        assert_eq!(second, code_at_step(b"12345678901234567890", 2));
    }
}
