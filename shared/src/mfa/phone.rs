//! Phones (MFA-3): numbers validated and normalised to E.164 with the `phonenumber`
//! crate, sealed at rest and found by a keyed fingerprint; one-time codes of 6 digits by
//! SMS or voice, valid 10 minutes, stored only as a keyed hash in a `OTP#<id>` item that
//! a right answer deletes conditionally (so a code works once) and that dies after a few
//! wrong ones. Sending the code, and the OTP_SENDS_* limits, are the caller's.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use phonenumber::country::Id;
use phonenumber::{Mode, Type};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::factors::{FactorKind, FactorSummary, Factors, context, factor_key, is_id, record};
use super::{CODE_LIFETIME_SECS, MAX_CODE_ATTEMPTS, MfaError, compact, keyed_mac};
use crate::account::events::{EventContext, partition};
use crate::notify::Channel;
use crate::random::RandomExt;
use crate::store::{Check, Expect, Item, Key, StoreError, Update, Write};

pub const CODE_DIGITS: usize = 6;

/// Longest input handed to the parser; no real number, however typed, comes near.
const MAX_RAW_CHARS: usize = 64;

/// How the code reaches the phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhoneDelivery {
    Sms,
    Voice,
}

impl PhoneDelivery {
    pub fn as_str(self) -> &'static str {
        match self {
            PhoneDelivery::Sms => "sms",
            PhoneDelivery::Voice => "voice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sms" => Some(PhoneDelivery::Sms),
            "voice" => Some(PhoneDelivery::Voice),
            _ => None,
        }
    }

    /// The `SmsSender` channel that delivers it.
    pub fn channel(self) -> Channel {
        match self {
            PhoneDelivery::Sms => Channel::Text,
            PhoneDelivery::Voice => Channel::Voice,
        }
    }
}

/// A valid number in E.164 form (`+17035550100`). `Debug` shows it masked.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl PhoneNumber {
    /// Parses a number as typed. Without a leading `+` it is read as a number of
    /// `default_region` (ISO 3166 alpha-2, e.g. `US`, `FR`). Refused: numbers that are
    /// not valid in their country's plan, that carry an extension, or whose kind cannot
    /// receive a code (premium rate, shared cost, toll free, pagers, short codes …).
    pub fn parse(raw: &str, default_region: &str) -> Result<Self, MfaError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.chars().count() > MAX_RAW_CHARS {
            return Err(MfaError::PhoneInvalid);
        }
        let region = default_region
            .trim()
            .to_ascii_uppercase()
            .parse::<Id>()
            .ok();
        let number = phonenumber::parse(region, raw).map_err(|_| MfaError::PhoneInvalid)?;
        if !number.is_valid() || number.extension().is_some() {
            return Err(MfaError::PhoneInvalid);
        }
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile
            | Type::FixedLine
            | Type::FixedLineOrMobile
            | Type::Voip
            | Type::PersonalNumber => {}
            _ => return Err(MfaError::PhoneInvalid),
        }
        let e164 = number.format().mode(Mode::E164).to_string();
        if !crate::notify::is_e164(&e164) {
            return Err(MfaError::PhoneInvalid);
        }
        Ok(Self {
            e164,
            country_code: number.code().value(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// What pages show: the country code and the last two digits, `+33 •••• ••56`.
    /// The mask is the same length for every number, so it does not tell the length.
    pub fn masked(&self) -> String {
        let last_two = &self.e164[self.e164.len().saturating_sub(2)..];
        format!("+{} •••• ••{last_two}", self.country_code)
    }
}

/// A code to send. The caller sends it (`e164`, by `delivery`), then forgets it.
pub struct PhoneChallenge {
    /// Names the challenge for [`Factors::confirm_phone`] / [`Factors::verify_phone`].
    pub id: String,
    pub e164: String,
    pub delivery: PhoneDelivery,
    pub code: Zeroizing<String>,
}

impl fmt::Debug for PhoneChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhoneChallenge")
            .field("id", &self.id)
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

/// The account's claim on a number, so the same number is not added twice.
pub(super) fn phone_key(user_id: &str, fp: &str) -> Key {
    Key::new(partition(user_id), format!("PHONE#{fp}"))
}

fn challenge_key(user_id: &str, challenge_id: &str) -> Key {
    Key::new(partition(user_id), format!("OTP#{challenge_id}"))
}

/// What a challenge is for: adding a phone, or signing in with one.
const ENROL: &str = "enrol";
const SIGN_IN: &str = "sign_in";

/// The result of checking a code against a challenge.
enum Checked {
    Right(Item),
    Wrong,
    /// Gone: expired, used, out of tries, or for the other purpose.
    Gone,
}

impl Factors {
    /// The number's fingerprint: the same for one number whatever was typed.
    fn phone_fp(&self, number: &PhoneNumber) -> String {
        URL_SAFE_NO_PAD.encode(keyed_mac(
            self.key.expose(),
            &[b"phone", number.as_str().as_bytes()],
        ))
    }

    fn code_mac(&self, user_id: &str, challenge_id: &str, code: &str) -> Vec<u8> {
        keyed_mac(
            self.key.expose(),
            &[
                b"phone-code",
                user_id.as_bytes(),
                challenge_id.as_bytes(),
                code.as_bytes(),
            ],
        )
        .to_vec()
    }

    /// Six uniformly drawn digits (rejection sampling keeps every code equally likely).
    fn new_code(&self) -> Zeroizing<String> {
        const LIMIT: u32 = u32::MAX - u32::MAX % 1_000_000;
        loop {
            let n = u32::from_be_bytes(self.random.array::<4>());
            if n < LIMIT {
                return Zeroizing::new(format!("{:06}", n % 1_000_000));
            }
        }
    }

    /// A challenge item expiring in 10 minutes, holding the code's keyed hash.
    fn challenge_item(
        &self,
        user_id: &str,
        purpose: &str,
    ) -> (String, Key, Item, Zeroizing<String>) {
        let id = self.new_id();
        let key = challenge_key(user_id, &id);
        let code = self.new_code();
        let item = Item::new(key.clone())
            .with("purpose", purpose)
            .with("code", self.code_mac(user_id, &id, &code))
            .with("attempts", 0i64)
            .expiring_at(self.clock.now_secs() + CODE_LIFETIME_SECS);
        (id, key, item, code)
    }

    /// Starts adding a phone: the number checked and normalised, a code for it. Refused
    /// early when the account has this number already or five phones.
    pub async fn begin_phone(
        &self,
        user_id: &str,
        raw_number: &str,
        default_region: &str,
        delivery: PhoneDelivery,
    ) -> Result<PhoneChallenge, MfaError> {
        let number = PhoneNumber::parse(raw_number, default_region)?;
        let fp = self.phone_fp(&number);
        if self.store.get(&phone_key(user_id, &fp)).await?.is_some() {
            return Err(MfaError::PhoneTaken);
        }
        if let Some(limit) = FactorKind::Phone.limit()
            && self.count_of(user_id, FactorKind::Phone).await? >= limit
        {
            return Err(MfaError::TooManyPhones);
        }
        let (id, key, item, code) = self.challenge_item(user_id, ENROL);
        let sealed = self
            .envelope
            .seal(
                &context("phone", user_id),
                &record(&key),
                number.as_str().as_bytes(),
            )
            .await?;
        let item = item
            .with("number", sealed)
            .with("fp", fp)
            .with("masked", number.masked())
            .with("delivery", delivery.as_str());
        self.store.put(item, Expect::Absent).await?;
        Ok(PhoneChallenge {
            id,
            e164: number.as_str().to_owned(),
            delivery,
            code,
        })
    }

    /// Checks `code` against a live challenge of `purpose`. A wrong code uses up a try;
    /// the last try deletes the challenge.
    async fn check_code(
        &self,
        user_id: &str,
        challenge_id: &str,
        purpose: &str,
        code: &str,
    ) -> Result<Checked, MfaError> {
        if !is_id(challenge_id) {
            return Ok(Checked::Gone);
        }
        let key = challenge_key(user_id, challenge_id);
        let Some(item) = self.store.get(&key).await? else {
            return Ok(Checked::Gone);
        };
        if item.str("purpose") != Some(purpose)
            || item.num("attempts").unwrap_or(MAX_CODE_ATTEMPTS) >= MAX_CODE_ATTEMPTS
        {
            return Ok(Checked::Gone);
        }
        let stored = item.bytes("code").ok_or(MfaError::Malformed)?;
        let typed = Zeroizing::new(compact(code));
        let shaped = typed.len() == CODE_DIGITS && typed.bytes().all(|b| b.is_ascii_digit());
        if shaped && bool::from(self.code_mac(user_id, challenge_id, &typed).ct_eq(stored)) {
            return Ok(Checked::Right(item));
        }
        let counted = self
            .store
            .update(
                Update::new(key.clone()).add("attempts", 1),
                Expect::All(vec![Check::lt("attempts", MAX_CODE_ATTEMPTS)]),
            )
            .await;
        match counted {
            Ok(after) if after.num("attempts").unwrap_or(0) >= MAX_CODE_ATTEMPTS => {
                self.store.delete(&key, Expect::Any).await?;
                Ok(Checked::Wrong)
            }
            Ok(_) => Ok(Checked::Wrong),
            Err(StoreError::ConditionFailed) => Ok(Checked::Gone),
            Err(e) => Err(e.into()),
        }
    }

    /// Finishes adding a phone with the code sent to it: the phone becomes a method in
    /// one transaction that also uses the challenge up and claims the number.
    pub async fn confirm_phone(
        &self,
        user_id: &str,
        challenge_id: &str,
        code: &str,
        ctx: &EventContext,
    ) -> Result<FactorSummary, MfaError> {
        let item = match self.check_code(user_id, challenge_id, ENROL, code).await? {
            Checked::Right(item) => item,
            Checked::Wrong => return Err(MfaError::WrongCode),
            Checked::Gone => return Err(MfaError::EnrollmentExpired),
        };
        let (Some(sealed), Some(fp), Some(masked), Some(delivery)) = (
            item.bytes("number"),
            item.str("fp"),
            item.str("masked"),
            item.str("delivery"),
        ) else {
            return Err(MfaError::Malformed);
        };
        let number = self
            .envelope
            .open(&context("phone", user_id), &record(&item.key), sealed)
            .await?;
        let id = self.new_id();
        let key = factor_key(user_id, &id);
        // Sealed again: the sealed value is bound to its record, the challenge's.
        let sealed = self
            .envelope
            .seal(&context("phone", user_id), &record(&key), &number)
            .await?;
        let now = self.clock.now_ms();
        let factor = Item::new(key)
            .with("kind", FactorKind::Phone.as_str())
            .with("name", "")
            .with("created_ms", now)
            .with("last_used_ms", now)
            .with("number", sealed)
            .with("fp", fp)
            // Kept in clear so that listing methods needs no key-service call; it shows
            // the country and two digits, never the number.
            .with("masked", masked)
            .with("delivery", delivery);
        let extra = vec![
            (
                Write::Delete(
                    item.key.clone(),
                    Expect::All(vec![Check::lt("attempts", MAX_CODE_ATTEMPTS)]),
                ),
                MfaError::EnrollmentExpired,
            ),
            (
                Write::Put(
                    Item::new(phone_key(user_id, fp)).with("factor", id.clone()),
                    Expect::Absent,
                ),
                MfaError::PhoneTaken,
            ),
        ];
        self.add(user_id, FactorKind::Phone, factor, extra, ctx)
            .await
    }

    /// Signing in with a phone the account has: a new code for it, to send by the
    /// phone's delivery method.
    pub async fn phone_challenge(
        &self,
        user_id: &str,
        factor_id: &str,
    ) -> Result<PhoneChallenge, MfaError> {
        if !is_id(factor_id) {
            return Err(MfaError::NotFound);
        }
        let factor_key = factor_key(user_id, factor_id);
        let factor = self
            .store
            .get(&factor_key)
            .await?
            .filter(|f| f.str("kind") == Some(FactorKind::Phone.as_str()))
            .ok_or(MfaError::NotFound)?;
        let sealed = factor.bytes("number").ok_or(MfaError::Malformed)?;
        let number = self
            .envelope
            .open(&context("phone", user_id), &record(&factor_key), sealed)
            .await?;
        let e164 = String::from_utf8(number.to_vec()).map_err(|_| MfaError::Malformed)?;
        let delivery = factor
            .str("delivery")
            .and_then(PhoneDelivery::parse)
            .unwrap_or(PhoneDelivery::Sms);
        let (id, _, item, code) = self.challenge_item(user_id, SIGN_IN);
        self.store
            .put(item.with("factor", factor_id), Expect::Absent)
            .await?;
        Ok(PhoneChallenge {
            id,
            e164,
            delivery,
            code,
        })
    }

    /// Signs in with a code sent by [`Factors::phone_challenge`]: the phone, when the
    /// code is right (it then works no more); `None` when it is wrong, or when a
    /// concurrent use of the same code won. [`MfaError::CodeExpired`] when the challenge
    /// is older than 10 minutes, used, or out of tries.
    pub async fn verify_phone(
        &self,
        user_id: &str,
        challenge_id: &str,
        code: &str,
    ) -> Result<Option<FactorSummary>, MfaError> {
        let item = match self
            .check_code(user_id, challenge_id, SIGN_IN, code)
            .await?
        {
            Checked::Right(item) => item,
            Checked::Wrong => return Ok(None),
            Checked::Gone => return Err(MfaError::CodeExpired),
        };
        let factor_id = item.str("factor").ok_or(MfaError::Malformed)?;
        let factor = factor_key(user_id, factor_id);
        let now = self.clock.now_ms();
        let writes = vec![
            Write::Delete(
                item.key.clone(),
                Expect::All(vec![Check::lt("attempts", MAX_CODE_ATTEMPTS)]),
            ),
            Write::Update(
                Update::new(factor.clone()).set("last_used_ms", now),
                Expect::Present,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
                return Err(MfaError::NotFound);
            }
            Err(StoreError::TransactionCanceled { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        Ok(self
            .store
            .get(&factor)
            .await?
            .as_ref()
            .and_then(super::factors::summary))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_to_e164() {
        let us = PhoneNumber::parse("+1 703-555-0100", "FR").unwrap();
        assert_eq!(us.as_str(), "+17035550100");
        let national = PhoneNumber::parse("(703) 555-0100", "us").unwrap();
        assert_eq!(national, us);
        let fr = PhoneNumber::parse("06 12 34 56 78", "FR").unwrap();
        assert_eq!(fr.as_str(), "+33612345678");
        assert_eq!(fr.masked(), "+33 •••• ••78");
        assert_eq!(format!("{fr:?}"), "PhoneNumber(+33 •••• ••78)");
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for raw in [
            "",
            "12",
            "not a number",
            "+1 703 555",
            "+33 6 12 34 56 78 90 12",
            "+1 703-555-0100 ext. 12",
            "+1 900-555-0100",
            &"1".repeat(100),
        ] {
            assert!(
                matches!(PhoneNumber::parse(raw, "US"), Err(MfaError::PhoneInvalid)),
                "{raw:?}"
            );
        }
        // Without a country code, a number needs a known default region.
        assert!(PhoneNumber::parse("703-555-0100", "ZZ").is_err());
    }

    #[test]
    fn deliveries_have_stable_names_and_channels() {
        for d in [PhoneDelivery::Sms, PhoneDelivery::Voice] {
            assert_eq!(PhoneDelivery::parse(d.as_str()), Some(d));
        }
        assert_eq!(PhoneDelivery::Voice.channel(), Channel::Voice);
        assert_eq!(PhoneDelivery::Sms.channel(), Channel::Text);
    }

    #[test]
    fn challenges_do_not_show_number_or_code_in_debug() {
        let c = PhoneChallenge {
            id: "id".into(),
            e164: "+17035550100".into(),
            delivery: PhoneDelivery::Sms,
            code: Zeroizing::new("123456".into()),
        };
        let dump = format!("{c:?}");
        assert!(
            !dump.contains("5550100") && !dump.contains("123456"),
            "{dump}"
        );
    }
}
