//! Authentication apps (MFA-2): RFC 6238 time-based codes — a 160-bit secret, HMAC-SHA1,
//! 6 digits, 30-second steps, one step of drift either way — and the flows to enrol an
//! app and to sign in with it. A code is accepted at most once per app: each app keeps
//! the last step it accepted, and only a conditional write raising it accepts a code.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::factors::{FactorKind, FactorSummary, Factors, context, factor_key, is_id, record};
use super::{CODE_LIFETIME_SECS, MfaError, compact, qr, valid_name};
use crate::account::events::{EventContext, partition};
use crate::random::RandomExt;
use crate::store::{Check, Expect, Item, Key, StoreError, Update, Write};

/// RFC 6238 parameters, as every authenticator app assumes by default.
pub const SECRET_BYTES: usize = 20;
pub const DIGITS: u32 = 6;
pub const PERIOD_SECS: i64 = 30;
/// Steps of clock drift accepted either way.
pub const WINDOW: i64 = 1;
pub const ISSUER: &str = "Passerelle";

/// Longest account label put in the otpauth URI (an email address is at most 254).
const MAX_LABEL_CHARS: usize = 254;

/// What the enrolment page shows: the secret as text and as a QR code. Shown once.
pub struct TotpEnrollment {
    /// Names the pending enrolment for [`Factors::confirm_totp`].
    pub id: String,
    /// RFC 4648 base32, no padding: 32 characters.
    pub secret_base32: Zeroizing<String>,
    pub otpauth_uri: Zeroizing<String>,
    /// The URI as an inline SVG (decorative: the page shows the secret as text too).
    pub qr_svg: String,
}

impl fmt::Debug for TotpEnrollment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpEnrollment")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// RFC 4648 base32 without padding, the alphabet authenticator apps expect.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// RFC 4226 HOTP: the `DIGITS`-digit code of `secret` for `counter`.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    hotp_digits(secret, counter, DIGITS)
}

fn hotp_digits(secret: &[u8], counter: u64, digits: u32) -> u32 {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret)
        .unwrap_or_else(|_| <Hmac<Sha1> as KeyInit>::new(&Default::default()));
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation: the low nibble of the last byte picks 4 bytes.
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let word = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    word % 10u32.pow(digits)
}

/// The 30-second step `unix_secs` falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(PERIOD_SECS)
}

/// The code as an app shows it, zero-padded.
pub fn code_at_step(secret: &[u8], step: i64) -> Zeroizing<String> {
    let code = hotp(secret, u64::try_from(step).unwrap_or_default());
    Zeroizing::new(format!("{code:0width$}", width = DIGITS as usize))
}

/// The step within `WINDOW` of `now_step` whose code `candidate` is, comparing in
/// constant time. `candidate` must already be six ASCII digits.
fn matching_step(secret: &[u8], candidate: &str, now_step: i64) -> Option<i64> {
    let mut found = None;
    // Every step is computed and compared, match or not, so the time taken does not
    // tell which step matched.
    for step in now_step - WINDOW..=now_step + WINDOW {
        let expected = code_at_step(secret, step);
        if bool::from(expected.as_bytes().ct_eq(candidate.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A typed code, if it has the shape of one: six digits once spaces are dropped.
fn normalise(code: &str) -> Option<Zeroizing<String>> {
    let code = Zeroizing::new(compact(code));
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// Unreserved characters (RFC 3986) as they are, everything else `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The key-URI authenticator apps read from the QR code.
pub fn otpauth_uri(label: &str, secret_base32: &str) -> String {
    format!(
        "otpauth://totp/{ISSUER}:{}?secret={secret_base32}&issuer={ISSUER}\
         &algorithm=SHA1&digits={DIGITS}&period={PERIOD_SECS}",
        percent_encode(label)
    )
}

fn pending_key(user_id: &str, enrollment_id: &str) -> Key {
    Key::new(partition(user_id), format!("PENDING_TOTP#{enrollment_id}"))
}

/// A pending enrolment's sealed payload: the secret, then the label.
fn split_payload(payload: &[u8]) -> Result<(&[u8], &str), MfaError> {
    let (secret, label) = payload
        .split_at_checked(SECRET_BYTES)
        .ok_or(MfaError::Malformed)?;
    let label = std::str::from_utf8(label).map_err(|_| MfaError::Malformed)?;
    Ok((secret, label))
}

/// What the enrolment page shows for `secret`.
fn enrollment(id: String, secret: &[u8], label: &str) -> Result<TotpEnrollment, MfaError> {
    let secret_base32 = Zeroizing::new(base32(secret));
    let otpauth_uri = Zeroizing::new(otpauth_uri(label, &secret_base32));
    let qr_svg = qr::svg(&otpauth_uri)?;
    Ok(TotpEnrollment {
        id,
        secret_base32,
        otpauth_uri,
        qr_svg,
    })
}

impl Factors {
    /// Starts enrolling an app: a fresh secret, kept sealed (with the label) in an item
    /// that expires in 10 minutes. `label` names the account in the app (usually its
    /// email address; [`MfaError::NameInvalid`] when it is empty or over 254
    /// characters). Refused early when the account already has two apps.
    pub async fn begin_totp(&self, user_id: &str, label: &str) -> Result<TotpEnrollment, MfaError> {
        let label = label.trim();
        let chars = label.chars().count();
        if chars == 0 || chars > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
            return Err(MfaError::NameInvalid);
        }
        if let Some(limit) = FactorKind::Totp.limit()
            && self.count_of(user_id, FactorKind::Totp).await? >= limit
        {
            return Err(MfaError::TooManyApps);
        }
        let secret = Zeroizing::new(self.random.array::<SECRET_BYTES>());
        let id = self.new_id();
        let key = pending_key(user_id, &id);
        // The label is personal data too: it travels sealed beside the secret, so the
        // page can show the same enrolment again after a wrong code.
        let mut payload = Zeroizing::new(secret.to_vec());
        payload.extend_from_slice(label.as_bytes());
        let sealed = self
            .envelope
            .seal(&context("totp", user_id), &record(&key), &payload)
            .await?;
        let item = Item::new(key)
            .with("enrollment", sealed)
            .expiring_at(self.clock.now_secs() + CODE_LIFETIME_SECS);
        self.store.put(item, Expect::Absent).await?;
        enrollment(id, secret.as_slice(), label)
    }

    /// A pending enrolment again, as [`Factors::begin_totp`] gave it, while it lasts
    /// ([`MfaError::EnrollmentExpired`] after 10 minutes or once confirmed).
    pub async fn totp_enrollment(
        &self,
        user_id: &str,
        enrollment_id: &str,
    ) -> Result<TotpEnrollment, MfaError> {
        let (_, payload) = self.open_pending(user_id, enrollment_id).await?;
        let (secret, label) = split_payload(&payload)?;
        enrollment(enrollment_id.to_owned(), secret, label)
    }

    /// The pending enrolment's key and opened payload (secret, then label).
    async fn open_pending(
        &self,
        user_id: &str,
        enrollment_id: &str,
    ) -> Result<(Key, Zeroizing<Vec<u8>>), MfaError> {
        if !is_id(enrollment_id) {
            return Err(MfaError::EnrollmentExpired);
        }
        let key = pending_key(user_id, enrollment_id);
        let item = self
            .store
            .get(&key)
            .await?
            .ok_or(MfaError::EnrollmentExpired)?;
        let sealed = item.bytes("enrollment").ok_or(MfaError::Malformed)?;
        let payload = self
            .envelope
            .open(&context("totp", user_id), &record(&key), sealed)
            .await?;
        Ok((key, payload))
    }

    /// Finishes enrolling: with the name the person gives the app and a right code from
    /// it, the app becomes a method in one transaction that also uses the enrolment up.
    /// The code just given cannot be used again to sign in.
    pub async fn confirm_totp(
        &self,
        user_id: &str,
        enrollment_id: &str,
        name: &str,
        code: &str,
        ctx: &EventContext,
    ) -> Result<FactorSummary, MfaError> {
        let name = valid_name(name)?;
        let (pending, payload) = self.open_pending(user_id, enrollment_id).await?;
        let (secret, _) = split_payload(&payload)?;
        let code = normalise(code).ok_or(MfaError::WrongCode)?;
        let now_step = step_at(self.clock.now_secs());
        let step = matching_step(secret, &code, now_step).ok_or(MfaError::WrongCode)?;
        let id = self.new_id();
        let key = factor_key(user_id, &id);
        // Sealed again: the sealed value is bound to its record, the pending item's.
        let sealed = self
            .envelope
            .seal(&context("totp", user_id), &record(&key), secret)
            .await?;
        let now = self.clock.now_ms();
        let factor = Item::new(key)
            .with("kind", FactorKind::Totp.as_str())
            .with("name", name)
            .with("created_ms", now)
            .with("last_used_ms", now)
            .with("secret", sealed)
            .with("last_step", step);
        self.add(
            user_id,
            FactorKind::Totp,
            factor,
            vec![(
                Write::Delete(pending, Expect::Present),
                MfaError::EnrollmentExpired,
            )],
            ctx,
        )
        .await
    }

    /// Signs in with an app: the app whose code this is, now (±1 step), unless that
    /// step or a later one was already accepted for it. `None`: wrong or replayed.
    /// The caller counts a `None` as an MFA failure (MFA-6).
    pub async fn verify_totp(
        &self,
        user_id: &str,
        code: &str,
    ) -> Result<Option<FactorSummary>, MfaError> {
        let Some(code) = normalise(code) else {
            return Ok(None);
        };
        let now_step = step_at(self.clock.now_secs());
        for item in self.items_of(user_id, FactorKind::Totp).await? {
            let Some(sealed) = item.bytes("secret") else {
                tracing::warn!(sk = %item.key.sk, "an app without a secret");
                continue;
            };
            let secret = self
                .envelope
                .open(&context("totp", user_id), &record(&item.key), sealed)
                .await?;
            let Some(step) = matching_step(&secret, &code, now_step) else {
                continue;
            };
            // The check and the write are one: of two uses of one code, one wins; a
            // code older than one accepted is refused.
            let accepted = self
                .store
                .update(
                    Update::new(item.key.clone())
                        .set("last_step", step)
                        .set("last_used_ms", self.clock.now_ms()),
                    Expect::All(vec![Check::lt("last_step", step)]),
                )
                .await;
            match accepted {
                Ok(updated) => return Ok(super::factors::summary(&updated)),
                Err(StoreError::ConditionFailed) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn hotp_matches_rfc_4226() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64), code, "counter {counter}");
        }
    }

    #[test]
    fn totp_matches_rfc_6238_sha1_vectors() {
        // RFC 6238 appendix B (SHA1, 8 digits); a 6-digit code is the same truncation
        // taken modulo 10^6, so the last six digits.
        let vectors: [(i64, &str); 6] = [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ];
        for (time, eight) in vectors {
            let step = step_at(time);
            let full = hotp_digits(RFC_SECRET, step as u64, 8);
            assert_eq!(format!("{full:08}"), eight, "time {time}");
            assert_eq!(code_at_step(RFC_SECRET, step).as_str(), &eight[2..]);
        }
    }

    #[test]
    fn the_window_is_one_step_either_way() {
        let now = step_at(1_800_000_000);
        for (offset, accepted) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at_step(RFC_SECRET, now + offset);
            assert_eq!(
                matching_step(RFC_SECRET, &code, now),
                accepted.then_some(now + offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn base32_follows_rfc_4648() {
        let cases: [(&[u8], &str); 7] = [
            (b"", ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ];
        for (input, output) in cases {
            assert_eq!(base32(input), output);
        }
        assert_eq!(base32(&[0u8; SECRET_BYTES]).len(), 32);
    }

    #[test]
    fn the_uri_names_issuer_and_parameters_and_encodes_the_label() {
        let uri = otpauth_uri("jane doe+x@example.gov", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/Passerelle:jane%20doe%2Bx%40example.gov?secret=JBSWY3DPEHPK3PXP\
             &issuer=Passerelle&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn typed_codes_are_six_digits_once_spaces_are_dropped() {
        assert_eq!(normalise(" 123 456 ").unwrap().as_str(), "123456");
        assert_eq!(normalise("123-456").unwrap().as_str(), "123456");
        assert!(normalise("12345").is_none());
        assert!(normalise("1234567").is_none());
        assert!(normalise("12345a").is_none());
        assert!(normalise("１２３４５６").is_none());
    }

    #[test]
    fn enrolments_do_not_show_their_secret_in_debug() {
        let e = TotpEnrollment {
            id: "id".into(),
            secret_base32: Zeroizing::new("JBSWY3DPEHPK3PXP".into()),
            otpauth_uri: Zeroizing::new("otpauth://totp/x?secret=JBSWY3DPEHPK3PXP".into()),
            qr_svg: String::new(),
        };
        assert!(!format!("{e:?}").contains("JBSWY3DP"));
    }
}
