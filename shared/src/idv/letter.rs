//! Letter codes (IDV-4): confirming an address by post. Each letter carries a code of 10
//! Crockford characters (50 random bits); the store keeps only its keyed hash, for 30
//! days. At most 4 letters in 30 days, 24 hours apart; 5 code tries per 10 minutes.
//! Confirming consumes the code with a conditional delete in the same transaction that
//! marks the identity verified, so a code works once even when sent twice at once.
//! Sending the letter is the letter vendor's job: [`Letters::request_letter`] hands over
//! the code to print.
//!
//! Reminders and expiry are scheduled work, not page requests. A new letter is listed in
//! `gsi1` (partition `IDV_LETTER_REMINDERS`, sorted by when its reminder is due,
//! [`REMINDER_AFTER_MS`] after the request); the scheduled job reads
//! [`Letters::due_reminders`] and takes each letter out of the index with
//! [`Letters::mark_reminded`], a conditional update, so two runs racing remind once. Expiry
//! is the item's TTL: an expired letter is gone from the table and the index alike, and
//! [`Letters::standing`] tells a waiting identity whose letters all expired from one
//! whose letter never went.
//!
//! | `pk` | `sk` | attributes | expiry |
//! | --- | --- | --- | --- |
//! | `USER#<id>` | `IDV_LETTER#<HMAC of the code>` | `requested_ms`, `reminded_ms` (once reminded); until then `gsi1pk` = `IDV_LETTER_REMINDERS`, `gsi1sk` = `<due ms, 13 digits>#<id>` | 30 days after the request |

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use super::error::IdvError;
use super::profile;
use crate::account::events::partition;
use crate::clock::Clock;
use crate::keys::SecretKey;
use crate::mfa::backup_codes::{crockford_code, crockford_normalise};
use crate::mfa::keyed_mac;
use crate::random::Random;
use crate::ratelimit::{
    IDV_LETTER_GAP, IDV_LETTERS, LETTER_CODE_TRIES, RateLimitError, RateLimiter,
};
use crate::store::{
    Check, Expect, GSI1_PK, GSI1_SK, Index, Item, Key, MAX_QUERY_LIMIT, Query, Store, StoreError,
    Update, Write,
};

pub const CODE_CHARS: usize = 10;
/// IDV-4: a code is valid for 30 days.
pub const LIFETIME_SECS: i64 = 30 * 24 * 3600;
/// When a letter whose code was not entered gets its reminder email: a letter arrives in 3
/// to 7 days (the letter page says so), so after 10 days it should be there — or it is
/// lost, and asking for another still leaves most of the 30 days. Soon enough that the
/// person still remembers verifying; late enough not to nag while the post is on its way.
pub const REMINDER_AFTER_MS: i64 = 10 * 24 * 3600 * 1000;
const PREFIX: &str = "IDV_LETTER#";
/// The `gsi1` partition that lists letters by when their reminder is due.
const REMINDERS: &str = "IDV_LETTER_REMINDERS";

#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    /// A letter limit or the code tries limit (IDV-4).
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooMany { retry_after_secs: u64 },
    /// Mistyped, expired, already used, or never sent.
    #[error("the code is not right or has expired; check the letter, or ask for a new one")]
    WrongCode,
    /// No identity is waiting for a letter on this account.
    #[error("there is no identity verification waiting for a letter; start verifying first")]
    NothingPending,
    #[error("this account's identity is already verified")]
    AlreadyVerified,
    /// The identity changed between the read and the write; nothing was written.
    #[error("the account changed meanwhile; try again")]
    Conflict,
    #[error(transparent)]
    Identity(IdvError),
    #[error(transparent)]
    RateLimit(RateLimitError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<RateLimitError> for LetterError {
    fn from(e: RateLimitError) -> Self {
        match e {
            RateLimitError::Blocked { retry_after_secs } => {
                LetterError::TooMany { retry_after_secs }
            }
            other => LetterError::RateLimit(other),
        }
    }
}

impl From<IdvError> for LetterError {
    fn from(e: IdvError) -> Self {
        match e {
            IdvError::AlreadyVerified => LetterError::AlreadyVerified,
            IdvError::Store(e) => LetterError::Store(e),
            other => LetterError::Identity(other),
        }
    }
}

/// A letter's code, to print: `XXXXX-XXXXX`. Wiped on drop; `Debug` never shows it.
pub struct LetterCode(Zeroizing<String>);

impl fmt::Debug for LetterCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LetterCode([redacted])")
    }
}

impl LetterCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A letter whose code can still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingLetter {
    pub requested_ms: i64,
    pub expires_ms: i64,
}

/// Where the letters of an identity waiting for one stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LetterStanding {
    /// Codes that can still be used, oldest first.
    Live(Vec<PendingLetter>),
    /// None can: the identity has waited 30 days, so every letter sent for it has
    /// expired. A new letter is the way on.
    Expired,
    /// None can, and none was sent for this identity (the letter limit held when it was
    /// sealed): every letter sent since would still be valid.
    NotSent,
}

/// A letter whose reminder is due: `letter` names it for [`Letters::mark_reminded`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    pub user_id: String,
    pub letter: String,
    pub requested_ms: i64,
    pub expires_ms: i64,
}

/// Issues and checks letter codes.
#[derive(Debug, Clone)]
pub struct Letters {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    limiter: Arc<RateLimiter>,
    /// `fingerprints.subkey("idv-letter")`: keys the codes' hashes.
    key: SecretKey,
}

fn letter_key(user_id: &str, hash: &str) -> Key {
    Key::new(partition(user_id), format!("{PREFIX}{hash}"))
}

impl Letters {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        limiter: Arc<RateLimiter>,
        key: SecretKey,
    ) -> Self {
        Self {
            store,
            clock,
            random,
            limiter,
            key,
        }
    }

    /// The account is part of the hash, so equal codes of two accounts do not look equal.
    fn code_hash(&self, user_id: &str, canonical: &str) -> String {
        URL_SAFE_NO_PAD.encode(keyed_mac(
            self.key.expose(),
            &[b"idv-letter", user_id.as_bytes(), canonical.as_bytes()],
        ))
    }

    /// A new code for a letter to `user_id`, within the letter limits. Earlier codes stay
    /// valid until they expire or one of them is used.
    pub async fn request_letter(&self, user_id: &str) -> Result<LetterCode, LetterError> {
        // Peek first so that a refusal by the 30-day limit does not start a 24 h gap.
        self.limiter.peek(&IDV_LETTERS, user_id).await?;
        self.limiter.hit(&IDV_LETTER_GAP, user_id).await?;
        self.limiter.hit(&IDV_LETTERS, user_id).await?;
        let shown = crockford_code(self.random.as_ref(), CODE_CHARS, 5);
        let canonical = crockford_normalise(&shown, CODE_CHARS).ok_or(LetterError::WrongCode)?;
        let now = self.clock.now_ms();
        let due = now + REMINDER_AFTER_MS;
        let item = Item::new(letter_key(user_id, &self.code_hash(user_id, &canonical)))
            .with("requested_ms", now)
            .with(GSI1_PK, REMINDERS)
            // Zero-padded, so the index's string order is time order.
            .with(GSI1_SK, format!("{due:013}#{user_id}"))
            .expiring_at(now.div_euclid(1000) + LIFETIME_SECS);
        self.store.put(item, Expect::Absent).await?;
        Ok(LetterCode(shown))
    }

    /// The letters whose codes can still be used, oldest first.
    pub async fn pending(&self, user_id: &str) -> Result<Vec<PendingLetter>, LetterError> {
        let page = self
            .store
            .query(
                &Query::partition(partition(user_id))
                    .prefix(PREFIX)
                    .limit(100),
            )
            .await?;
        let mut letters: Vec<PendingLetter> = page
            .items
            .iter()
            .filter_map(|i| {
                Some(PendingLetter {
                    requested_ms: i.num("requested_ms")?,
                    expires_ms: i.expires_at?.saturating_mul(1000),
                })
            })
            .collect();
        letters.sort_by_key(|l| l.requested_ms);
        Ok(letters)
    }

    /// Where the letters of an identity waiting since `pending_since_ms` stand. A letter
    /// sent for it was sent at or after that time and lasts 30 days, and only a
    /// confirmation (which ends the wait) removes one early: with none left, before 30
    /// days none was sent, after them every one expired.
    pub async fn standing(
        &self,
        user_id: &str,
        pending_since_ms: i64,
    ) -> Result<LetterStanding, LetterError> {
        let letters = self.pending(user_id).await?;
        if !letters.is_empty() {
            return Ok(LetterStanding::Live(letters));
        }
        let now_secs = self.clock.now_ms().div_euclid(1000);
        let all_expired_secs = pending_since_ms
            .div_euclid(1000)
            .saturating_add(LIFETIME_SECS);
        if now_secs >= all_expired_secs {
            Ok(LetterStanding::Expired)
        } else {
            Ok(LetterStanding::NotSent)
        }
    }

    /// For the scheduled job: up to `limit` letters whose reminder is due at `now_ms`,
    /// the longest due first. Reading changes nothing; the job takes each one out of the
    /// index with [`Letters::mark_reminded`] before it mails.
    pub async fn due_reminders(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> Result<Vec<DueReminder>, LetterError> {
        let page = self
            .store
            .query(
                &Query::partition(REMINDERS)
                    .on(Index::Gsi1)
                    .limit(limit.clamp(1, MAX_QUERY_LIMIT)),
            )
            .await?;
        let mut due = Vec::new();
        for item in &page.items {
            let Some(when) = item
                .str(GSI1_SK)
                .and_then(|sk| sk.split_once('#'))
                .and_then(|(ms, _)| ms.parse::<i64>().ok())
            else {
                continue;
            };
            // In due order: the first one not due ends the list.
            if when > now_ms {
                break;
            }
            let (Some(user_id), Some(letter), Some(requested_ms), Some(expires_at)) = (
                item.key.pk.strip_prefix("USER#"),
                item.key.sk.strip_prefix(PREFIX),
                item.num("requested_ms"),
                item.expires_at,
            ) else {
                continue;
            };
            due.push(DueReminder {
                user_id: user_id.to_owned(),
                letter: letter.to_owned(),
                requested_ms,
                expires_ms: expires_at.saturating_mul(1000),
            });
        }
        Ok(due)
    }

    /// Takes a letter out of the reminder index, recording when. `true` for the one call
    /// that did; `false` when it was already reminded (another run got there first),
    /// used, or expired. Only the caller that gets `true` mails the reminder.
    pub async fn mark_reminded(&self, user_id: &str, letter: &str) -> Result<bool, LetterError> {
        let update = Update::new(letter_key(user_id, letter))
            .set("reminded_ms", self.clock.now_ms())
            .remove(GSI1_PK)
            .remove(GSI1_SK);
        match self
            .store
            .update(update, Expect::All(vec![Check::Exists(GSI1_PK.into())]))
            .await
        {
            Ok(_) => Ok(true),
            Err(StoreError::ConditionFailed) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Confirms the address with a typed code: the code is used up, the other letters'
    /// codes dropped, and the identity waiting for it marked verified, in one transaction.
    pub async fn confirm(&self, user_id: &str, typed: &str) -> Result<(), LetterError> {
        self.limiter.hit(&LETTER_CODE_TRIES, user_id).await?;
        let Some(canonical) = crockford_normalise(typed, CODE_CHARS) else {
            return Err(LetterError::WrongCode);
        };
        let key = letter_key(user_id, &self.code_hash(user_id, &canonical));
        if self.store.get(&key).await?.is_none() {
            return Err(LetterError::WrongCode);
        }
        let identity = profile::load(self.store.as_ref(), user_id)
            .await?
            .ok_or(LetterError::NothingPending)?;
        let mut writes = vec![
            Write::Delete(key.clone(), Expect::Present),
            profile::letter_confirmed_write(&identity, self.clock.now_ms())?,
        ];
        let others = self
            .store
            .query(
                &Query::partition(partition(user_id))
                    .prefix(PREFIX)
                    .limit(50),
            )
            .await?;
        writes.extend(
            others
                .items
                .into_iter()
                .filter(|i| i.key != key)
                .map(|i| Write::Delete(i.key, Expect::Any)),
        );
        match self.store.transact(writes).await {
            Ok(()) => Ok(()),
            // Used by a concurrent confirmation, or expired, since it was read.
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
                Err(LetterError::WrongCode)
            }
            Err(StoreError::TransactionCanceled { .. }) => Err(LetterError::Conflict),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::idv::profile::ProfileState;
    use crate::idv::testkit::{PASSWORD, World, found, sample_pii, world};

    const DAY_MS: i64 = 24 * 3600 * 1000;

    /// An account whose identity waits for a letter.
    async fn pending(w: &World) -> String {
        let user = w.account("grace@example.gov").await;
        w.profiles
            .activate_pending_letter(&user, &sample_pii(), PASSWORD)
            .await
            .unwrap();
        user
    }

    fn blocked(result: Result<LetterCode, LetterError>) -> u64 {
        match result {
            Err(LetterError::TooMany { retry_after_secs }) => retry_after_secs,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn given_a_letter_when_requested_then_only_a_keyed_hash_of_its_code_is_stored() {
        let w = world().await;
        let user = pending(&w).await;
        let code = w.letters.request_letter(&user).await.unwrap();
        let shown = code.as_str();
        assert_eq!(shown.len(), 11, "{shown}");
        assert_eq!(shown.as_bytes()[5], b'-');
        assert_eq!(format!("{code:?}"), "LetterCode([redacted])");
        let letters = w.letters.pending(&user).await.unwrap();
        assert_eq!(
            letters,
            [PendingLetter {
                requested_ms: w.clock.now_ms(),
                expires_ms: w.clock.now_ms() + LIFETIME_SECS * 1000
            }]
        );
        let stored = w.stored_bytes().await;
        assert_eq!(found(&stored, &shown.replace('-', "")), None);
        assert_eq!(found(&stored, shown), None);
    }

    #[tokio::test]
    async fn given_a_code_typed_loosely_when_confirmed_then_the_identity_is_active_and_the_code_used_up()
     {
        // Given an identity waiting for a letter, and two letters sent a day apart
        let w = world().await;
        let user = pending(&w).await;
        let first = w.letters.request_letter(&user).await.unwrap();
        w.clock.advance_ms(DAY_MS);
        let second = w.letters.request_letter(&user).await.unwrap();
        // When the first code is typed in lowercase, with O for 0 and no hyphen
        let typed = first
            .as_str()
            .to_lowercase()
            .replace('0', "o")
            .replace('-', " ");
        w.letters.confirm(&user, &typed).await.unwrap();
        // Then the identity is active, and neither code works any more
        assert_eq!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::Active {
                verified_ms: w.clock.now_ms()
            })
        );
        assert!(w.letters.pending(&user).await.unwrap().is_empty());
        for code in [&first, &second] {
            let again = w.letters.confirm(&user, code.as_str()).await;
            assert!(matches!(again, Err(LetterError::WrongCode)), "{again:?}");
        }
    }

    #[tokio::test]
    async fn given_two_concurrent_confirmations_of_one_code_then_exactly_one_succeeds() {
        let w = world().await;
        let user = pending(&w).await;
        let code = w.letters.request_letter(&user).await.unwrap();
        w.gated.arm(2);
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (letters, user) = (w.letters.clone(), user.clone());
                let typed = code.as_str().to_owned();
                tokio::spawn(async move { letters.confirm(&user, &typed).await })
            })
            .collect();
        let mut outcomes = Vec::new();
        for racer in racers {
            outcomes.push(racer.await.unwrap());
        }
        let won = outcomes.iter().filter(|o| o.is_ok()).count();
        let lost = outcomes
            .iter()
            .filter(|o| matches!(o, Err(LetterError::WrongCode)))
            .count();
        assert_eq!((won, lost), (1, 1), "{outcomes:?}");
    }

    #[tokio::test]
    async fn given_letters_then_they_come_24_hours_apart_and_at_most_4_in_30_days() {
        let w = world().await;
        let user = pending(&w).await;
        w.letters.request_letter(&user).await.unwrap();
        // A second letter the same day waits for the 24 hours to pass
        w.clock.advance_ms(DAY_MS - 1000);
        assert_eq!(blocked(w.letters.request_letter(&user).await), 1);
        w.clock.advance_ms(1000);
        w.letters.request_letter(&user).await.unwrap();
        for _ in 0..2 {
            w.clock.advance_ms(DAY_MS);
            w.letters.request_letter(&user).await.unwrap();
        }
        // The fifth, days later, waits until 30 days after the fourth
        w.clock.advance_ms(5 * DAY_MS);
        assert_eq!(
            blocked(w.letters.request_letter(&user).await),
            25 * 24 * 3600
        );
        w.clock.advance_ms(25 * DAY_MS);
        w.letters.request_letter(&user).await.unwrap();
        // Codes of letters older than 30 days are gone
        let letters = w.letters.pending(&user).await.unwrap();
        assert_eq!(letters.len(), 1, "{letters:?}");
        assert!(letters.iter().all(|l| l.expires_ms > w.clock.now_ms()));
    }

    #[tokio::test]
    async fn given_a_letter_then_its_reminder_is_due_after_10_days_and_not_before() {
        // Given a letter to one person, and one to another a day later
        let w = world().await;
        let user = pending(&w).await;
        let sent_ms = w.clock.now_ms();
        w.letters.request_letter(&user).await.unwrap();
        w.clock.advance_ms(DAY_MS);
        let other = w.account("lin@example.gov").await;
        w.letters.request_letter(&other).await.unwrap();
        // When 10 days less a second have passed since the first, then nothing is due
        w.clock.set_ms(sent_ms + 10 * DAY_MS - 1000);
        let early = w
            .letters
            .due_reminders(w.clock.now_ms(), 100)
            .await
            .unwrap();
        assert!(early.is_empty(), "{early:?}");
        // When the 10 days are over, then the first letter is due, and only it
        w.clock.set_ms(sent_ms + 10 * DAY_MS);
        let due = w
            .letters
            .due_reminders(w.clock.now_ms(), 100)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!(due[0].user_id, user);
        assert_eq!(due[0].requested_ms, sent_ms);
        assert_eq!(due[0].expires_ms, sent_ms + LIFETIME_SECS * 1000);
        // And a day later both are, the longest due first, within the limit asked
        w.clock.advance_ms(DAY_MS);
        let both = w
            .letters
            .due_reminders(w.clock.now_ms(), 100)
            .await
            .unwrap();
        let users: Vec<&str> = both.iter().map(|d| d.user_id.as_str()).collect();
        assert_eq!(users, [user.as_str(), other.as_str()]);
        let one = w.letters.due_reminders(w.clock.now_ms(), 1).await.unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].user_id, user);
    }

    #[tokio::test]
    async fn given_a_due_reminder_when_marked_then_it_is_never_due_again_and_the_code_still_works()
    {
        let w = world().await;
        let user = pending(&w).await;
        let code = w.letters.request_letter(&user).await.unwrap();
        w.clock.advance_ms(10 * DAY_MS);
        let due = w
            .letters
            .due_reminders(w.clock.now_ms(), 100)
            .await
            .unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        // When it is marked reminded
        assert!(
            w.letters
                .mark_reminded(&user, &due[0].letter)
                .await
                .unwrap()
        );
        // Then no later run finds it, and marking again does nothing
        for _ in 0..3 {
            w.clock.advance_ms(DAY_MS);
            let again = w
                .letters
                .due_reminders(w.clock.now_ms(), 100)
                .await
                .unwrap();
            assert!(again.is_empty(), "{again:?}");
        }
        assert!(
            !w.letters
                .mark_reminded(&user, &due[0].letter)
                .await
                .unwrap()
        );
        // And the letter is still the one to enter: listed, with its expiry, and its code good
        let item = w
            .store
            .get(&letter_key(&user, &due[0].letter))
            .await
            .unwrap()
            .unwrap();
        assert!(item.get(GSI1_PK).is_none() && item.get(GSI1_SK).is_none());
        assert_eq!(item.num("reminded_ms"), Some(w.clock.now_ms() - 3 * DAY_MS));
        assert_eq!(w.letters.pending(&user).await.unwrap().len(), 1);
        w.letters.confirm(&user, code.as_str()).await.unwrap();
    }

    #[tokio::test]
    async fn given_two_job_runs_racing_over_one_due_letter_then_exactly_one_reminds() {
        // Given a due letter, and two runs that have both read it as due
        let w = world().await;
        let user = pending(&w).await;
        w.letters.request_letter(&user).await.unwrap();
        w.clock.advance_ms(10 * DAY_MS);
        let now = w.clock.now_ms();
        let first = w.letters.due_reminders(now, 100).await.unwrap();
        let second = w.letters.due_reminders(now, 100).await.unwrap();
        assert_eq!((first.len(), second.len()), (1, 1));
        // When both mark it at once
        let racers: Vec<_> = [first, second]
            .into_iter()
            .map(|due| {
                let letters = w.letters.clone();
                tokio::spawn(
                    async move { letters.mark_reminded(&due[0].user_id, &due[0].letter).await },
                )
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            if racer.await.unwrap().unwrap() {
                won += 1;
            }
        }
        // Then only one of them may mail the reminder
        assert_eq!(won, 1);
    }

    #[tokio::test]
    async fn given_a_waiting_identity_then_its_letters_are_live_not_sent_or_expired() {
        let w = world().await;
        let user = pending(&w).await;
        let since = w.clock.now_ms();
        // No letter yet: none was sent (the limit held, say)
        assert_eq!(
            w.letters.standing(&user, since).await.unwrap(),
            LetterStanding::NotSent
        );
        let code = w.letters.request_letter(&user).await.unwrap();
        w.clock.advance_ms(30 * DAY_MS - 1000);
        assert!(matches!(
            w.letters.standing(&user, since).await.unwrap(),
            LetterStanding::Live(l) if l.len() == 1
        ));
        // After 30 days the letter has expired: gone from the reminders too
        w.clock.advance_ms(1000);
        assert_eq!(
            w.letters.standing(&user, since).await.unwrap(),
            LetterStanding::Expired
        );
        let due = w
            .letters
            .due_reminders(w.clock.now_ms(), 100)
            .await
            .unwrap();
        assert!(due.is_empty(), "{due:?}");
        let late = w.letters.confirm(&user, code.as_str()).await;
        assert!(matches!(late, Err(LetterError::WrongCode)), "{late:?}");
        // A new letter makes it live again
        w.letters.request_letter(&user).await.unwrap();
        assert!(matches!(
            w.letters.standing(&user, since).await.unwrap(),
            LetterStanding::Live(_)
        ));
    }

    #[tokio::test]
    async fn given_a_code_after_30_days_when_confirmed_then_it_has_expired() {
        let w = world().await;
        let user = pending(&w).await;
        let code = w.letters.request_letter(&user).await.unwrap();
        w.clock.advance_ms(30 * DAY_MS);
        let late = w.letters.confirm(&user, code.as_str()).await;
        assert!(matches!(late, Err(LetterError::WrongCode)), "{late:?}");
        assert!(w.letters.pending(&user).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn given_five_wrong_codes_then_the_right_one_waits_for_the_ten_minutes() {
        let w = world().await;
        let user = pending(&w).await;
        let window_ms = 10 * 60 * 1000;
        w.clock
            .set_ms((w.clock.now_ms() / window_ms + 1) * window_ms);
        let code = w.letters.request_letter(&user).await.unwrap();
        for typed in [
            "AAAAA-AAAAA",
            "not a code",
            "BBBBB-BBBBB",
            "CCCCC-CCCCC",
            "DDDDD-DDDDD",
        ] {
            let wrong = w.letters.confirm(&user, typed).await;
            assert!(matches!(wrong, Err(LetterError::WrongCode)), "{wrong:?}");
        }
        let locked = w.letters.confirm(&user, code.as_str()).await;
        assert!(
            matches!(
                locked,
                Err(LetterError::TooMany {
                    retry_after_secs: 600
                })
            ),
            "{locked:?}"
        );
        w.clock.advance_ms(window_ms);
        w.letters.confirm(&user, code.as_str()).await.unwrap();
    }

    #[tokio::test]
    async fn given_no_identity_waiting_when_a_code_is_confirmed_then_nothing_pending() {
        let w = world().await;
        let user = w.account("lin@example.gov").await;
        let code = w.letters.request_letter(&user).await.unwrap();
        let result = w.letters.confirm(&user, code.as_str()).await;
        assert!(
            matches!(result, Err(LetterError::NothingPending)),
            "{result:?}"
        );
        // The code is still there for when the identity is sealed
        w.profiles
            .activate_pending_letter(&user, &sample_pii(), PASSWORD)
            .await
            .unwrap();
        w.letters.confirm(&user, code.as_str()).await.unwrap();
    }

    #[tokio::test]
    async fn given_a_reset_before_the_letter_then_the_code_counts_once_the_key_restores_it() {
        let w = world().await;
        let user = w.account("mae@example.gov").await;
        let key = w
            .profiles
            .activate_pending_letter(&user, &sample_pii(), PASSWORD)
            .await
            .unwrap();
        let code = w.letters.request_letter(&user).await.unwrap();
        w.reset_password("mae@example.gov", crate::idv::testkit::NEW_PASSWORD)
            .await;
        w.letters.confirm(&user, code.as_str()).await.unwrap();
        assert!(matches!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::Deactivated { .. })
        ));
        w.profiles
            .reactivate(&user, &key, crate::idv::testkit::NEW_PASSWORD)
            .await
            .unwrap();
        assert!(matches!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::Active { .. })
        ));
    }
}
