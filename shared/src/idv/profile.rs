//! The account's verified identity (IDV-7, IDV-8, ACC-5): one item in the account's
//! partition holding two sealed copies of the PII, one under the password and one under
//! the personal key, and the state the identity is in.
//!
//! - Sealing checks the password against the account first (a copy sealed under a typo
//!   would never open), and commits only over the account as it was read, so a password
//!   changed meanwhile cannot leave a copy under the old one.
//! - A password change re-seals the password copy in the change's own transaction
//!   ([`reseal_write`]); a reset drops the password copy and deactivates the identity in
//!   the reset's transaction ([`deactivation_write`]). The personal key plus the new
//!   password then re-seal both copies, with a new personal key ([`Profiles::reactivate`]).
//!
//! | `pk` | `sk` | attributes | expiry |
//! | --- | --- | --- | --- |
//! | `USER#<id>` | `IDV_PROFILE` | `state` (`pending_letter`, `active`, `deactivated`), `pending_since_ms`, `verified_ms`, `deactivated_ms`, `reason` (`password_reset`), sealed `password_copy` (absent once deactivated), sealed `personal_key_copy` | with the account |

use std::sync::Arc;

use super::error::IdvError;
use super::personal_key::PersonalKey;
use super::pii::Pii;
use super::seal::{self, SealedBy, SealedPii};
use crate::account::accounts::account_key;
use crate::account::events::partition;
use crate::account::password_hash::{self, HashParams, Verified};
use crate::clock::Clock;
use crate::envelope::Envelope;
use crate::random::Random;
use crate::ratelimit::{PERSONAL_KEY, RateLimiter};
use crate::store::{Expect, Item, Key, Store, StoreError, StoreResult, Update, Write};

const STATE: &str = "state";
const PENDING: &str = "pending_letter";
const ACTIVE: &str = "active";
const DEACTIVATED: &str = "deactivated";
const PASSWORD_COPY: &str = "password_copy";
const KEY_COPY: &str = "personal_key_copy";

/// Why an identity was deactivated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeactivationReason {
    /// ACC-5: the password it was sealed under is gone.
    PasswordReset,
}

impl DeactivationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeactivationReason::PasswordReset => "password_reset",
        }
    }
}

/// Where an account's verified identity stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileState {
    /// The checks passed; the address is waiting for a letter's code (IDV-4).
    PendingLetter {
        since_ms: i64,
    },
    Active {
        verified_ms: i64,
    },
    /// Only the personal key opens it (ACC-5).
    Deactivated {
        reason: DeactivationReason,
        since_ms: i64,
    },
}

pub(crate) fn profile_key(user_id: &str) -> Key {
    Key::new(partition(user_id), "IDV_PROFILE")
}

fn state_of(item: &Item) -> Option<ProfileState> {
    match item.str(STATE)? {
        PENDING => Some(ProfileState::PendingLetter {
            since_ms: item.num("pending_since_ms")?,
        }),
        ACTIVE => Some(ProfileState::Active {
            verified_ms: item.num("verified_ms")?,
        }),
        DEACTIVATED => Some(ProfileState::Deactivated {
            reason: match item.str("reason")? {
                "password_reset" => DeactivationReason::PasswordReset,
                _ => return None,
            },
            since_ms: item.num("deactivated_ms")?,
        }),
        _ => None,
    }
}

fn copy_of(item: &Item, name: &str) -> Option<SealedPii> {
    item.bytes(name).map(|b| SealedPii::from_bytes(b.to_vec()))
}

/// The write that re-seals the password copy under `new`, for the password change's own
/// transaction. `None` when there is nothing sealed under a password (no identity, or a
/// deactivated one). The write holds only over the identity as read here.
pub(crate) async fn reseal_write(
    store: &dyn Store,
    envelope: &Envelope,
    random: &dyn Random,
    kdf: &HashParams,
    user_id: &str,
    old: &str,
    new: &str,
) -> Result<Option<Write>, IdvError> {
    let Some(item) = store.get(&profile_key(user_id)).await? else {
        return Ok(None);
    };
    let Some(sealed) = copy_of(&item, PASSWORD_COPY) else {
        return Ok(None);
    };
    let pii = seal::open(
        envelope,
        user_id,
        SealedBy::Password,
        old.as_bytes(),
        &sealed,
    )
    .await?
    .ok_or(IdvError::WrongPassword)?;
    let resealed = seal::seal(
        envelope,
        random,
        kdf,
        user_id,
        SealedBy::Password,
        new.as_bytes(),
        &pii,
    )
    .await?;
    Ok(Some(Write::Update(
        Update::new(item.key.clone()).set(PASSWORD_COPY, resealed.into_bytes()),
        Expect::Version(item.version),
    )))
}

/// The write that deactivates the identity, for the password reset's own transaction:
/// the password copy goes (nobody knows its password any more, or the wrong person
/// does), the personal-key copy stays. `None` when there is nothing to deactivate.
pub(crate) async fn deactivation_write(
    store: &dyn Store,
    user_id: &str,
    now_ms: i64,
) -> StoreResult<Option<Write>> {
    let Some(item) = store.get(&profile_key(user_id)).await? else {
        return Ok(None);
    };
    if item.str(STATE) == Some(DEACTIVATED) && item.get(PASSWORD_COPY).is_none() {
        return Ok(None);
    }
    // Present, not the version: whatever happened to the identity meanwhile, the reset
    // must still take the password copy away.
    Ok(Some(Write::Update(
        Update::new(item.key)
            .set(STATE, DEACTIVATED)
            .set("deactivated_ms", now_ms)
            .set("reason", DeactivationReason::PasswordReset.as_str())
            .remove(PASSWORD_COPY),
        Expect::Present,
    )))
}

/// The identity item, if any, for the letter confirmation.
pub(crate) async fn load(store: &dyn Store, user_id: &str) -> StoreResult<Option<Item>> {
    store.get(&profile_key(user_id)).await
}

/// The write that records a confirmed letter (IDV-4) on the identity as read: a pending
/// identity becomes active; a deactivated one that was pending remembers it is verified
/// and becomes active when the personal key restores it.
pub(crate) fn letter_confirmed_write(item: &Item, now_ms: i64) -> Result<Write, IdvError> {
    let update = Update::new(item.key.clone()).set("verified_ms", now_ms);
    let update = match state_of(item).ok_or(IdvError::Malformed)? {
        ProfileState::PendingLetter { .. } => update.set(STATE, ACTIVE),
        ProfileState::Deactivated { .. } if item.get("verified_ms").is_none() => update,
        _ => return Err(IdvError::AlreadyVerified),
    };
    Ok(Write::Update(update, Expect::Version(item.version)))
}

/// Seals, opens and re-seals an account's verified identity.
#[derive(Debug, Clone)]
pub struct Profiles {
    store: Arc<dyn Store>,
    envelope: Arc<Envelope>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
    limiter: Arc<RateLimiter>,
    /// argon2id costs, for both the account's password check and the sealing keys.
    kdf: HashParams,
}

impl Profiles {
    pub fn new(
        store: Arc<dyn Store>,
        envelope: Arc<Envelope>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        limiter: Arc<RateLimiter>,
        kdf: HashParams,
    ) -> Self {
        Self {
            store,
            envelope,
            clock,
            random,
            limiter,
            kdf,
        }
    }

    pub async fn status(&self, user_id: &str) -> Result<Option<ProfileState>, IdvError> {
        let item = self.store.get(&profile_key(user_id)).await?;
        item.map(|i| state_of(&i).ok_or(IdvError::Malformed))
            .transpose()
    }

    /// Seals `pii` under `password` (which must be the account's) and a new personal key,
    /// as an active identity. Returns the key, to show once. Of two concurrent
    /// activations one wins; the other is [`IdvError::AlreadyVerified`].
    pub async fn activate(
        &self,
        user_id: &str,
        pii: &Pii,
        password: &str,
    ) -> Result<PersonalKey, IdvError> {
        self.create(user_id, pii, password, false).await
    }

    /// [`Profiles::activate`], waiting for the letter's code (IDV-4).
    pub async fn activate_pending_letter(
        &self,
        user_id: &str,
        pii: &Pii,
        password: &str,
    ) -> Result<PersonalKey, IdvError> {
        self.create(user_id, pii, password, true).await
    }

    async fn create(
        &self,
        user_id: &str,
        pii: &Pii,
        password: &str,
        pending: bool,
    ) -> Result<PersonalKey, IdvError> {
        let account = self.verify_password(user_id, password).await?;
        let existing = self.store.get(&profile_key(user_id)).await?;
        // A deactivated identity may be replaced by verifying again (ACC-5).
        let expect = match &existing {
            None => Expect::Absent,
            Some(item) if item.str(STATE) == Some(DEACTIVATED) => Expect::Version(item.version),
            Some(_) => return Err(IdvError::AlreadyVerified),
        };
        let key = PersonalKey::generate(self.random.as_ref());
        let (password_copy, key_copy) = self.seal_both(user_id, pii, password, &key).await?;
        let now = self.clock.now_ms();
        let mut item = Item::new(profile_key(user_id))
            .with(PASSWORD_COPY, password_copy.into_bytes())
            .with(KEY_COPY, key_copy.into_bytes());
        item = if pending {
            item.with(STATE, PENDING).with("pending_since_ms", now)
        } else {
            item.with(STATE, ACTIVE).with("verified_ms", now)
        };
        let writes = vec![
            Write::Put(item, expect),
            Write::Check(account_key(user_id), Expect::Version(account.version)),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(key),
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
                Err(IdvError::AlreadyVerified)
            }
            Err(StoreError::TransactionCanceled { .. }) => Err(IdvError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// The identity, opened with the account's password. `Ok(None)`: no identity.
    /// [`IdvError::Deactivated`] after a reset, until the personal key restores it.
    pub async fn open_with_password(
        &self,
        user_id: &str,
        password: &str,
    ) -> Result<Option<Pii>, IdvError> {
        let Some(item) = self.store.get(&profile_key(user_id)).await? else {
            return Ok(None);
        };
        let sealed = copy_of(&item, PASSWORD_COPY).ok_or(IdvError::Deactivated)?;
        seal::open(
            &self.envelope,
            user_id,
            SealedBy::Password,
            password.as_bytes(),
            &sealed,
        )
        .await?
        .map(Some)
        .ok_or(IdvError::WrongPassword)
    }

    /// IDV-8 / ACC-5: the personal key opens the identity, which is sealed again under
    /// `password` (the account's current one) and a new personal key, and becomes live
    /// again (active, or pending its letter). The old key stops working. Personal-key
    /// tries are limited (IDV-5), counted before the key is tried.
    pub async fn reactivate(
        &self,
        user_id: &str,
        personal_key: &PersonalKey,
        password: &str,
    ) -> Result<(Pii, PersonalKey), IdvError> {
        let account = self.verify_password(user_id, password).await?;
        let item = self
            .store
            .get(&profile_key(user_id))
            .await?
            .ok_or(IdvError::NoProfile)?;
        self.limiter.hit(&PERSONAL_KEY, user_id).await?;
        let sealed = copy_of(&item, KEY_COPY).ok_or(IdvError::Malformed)?;
        let pii = seal::open(
            &self.envelope,
            user_id,
            SealedBy::PersonalKey,
            personal_key.secret(),
            &sealed,
        )
        .await?
        .ok_or(IdvError::WrongPersonalKey)?;
        let key = PersonalKey::generate(self.random.as_ref());
        let (password_copy, key_copy) = self.seal_both(user_id, &pii, password, &key).await?;
        let state = if item.get("verified_ms").is_some() {
            ACTIVE
        } else {
            PENDING
        };
        let writes = vec![
            Write::Update(
                Update::new(item.key.clone())
                    .set(STATE, state)
                    .set(PASSWORD_COPY, password_copy.into_bytes())
                    .set(KEY_COPY, key_copy.into_bytes())
                    .remove("deactivated_ms")
                    .remove("reason"),
                Expect::Version(item.version),
            ),
            Write::Check(account_key(user_id), Expect::Version(account.version)),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok((pii, key)),
            Err(StoreError::TransactionCanceled { .. }) => Err(IdvError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// Re-seals the password copy under `new` on its own. The account's password change
    /// does this inside its own transaction; this is for callers outside it. `false`
    /// when there was nothing sealed under a password.
    pub async fn reseal_on_password_change(
        &self,
        user_id: &str,
        old: &str,
        new: &str,
    ) -> Result<bool, IdvError> {
        let write = reseal_write(
            self.store.as_ref(),
            &self.envelope,
            self.random.as_ref(),
            &self.kdf,
            user_id,
            old,
            new,
        )
        .await?;
        self.commit(write).await
    }

    /// Deactivates the identity on its own (the reset does it in its own transaction).
    pub async fn deactivate_on_reset(&self, user_id: &str) -> Result<bool, IdvError> {
        let write = deactivation_write(self.store.as_ref(), user_id, self.clock.now_ms()).await?;
        self.commit(write).await
    }

    /// Records that the checks matched a selfie to the document (facial match): agencies
    /// that require one accept only an identity that has it. A later reactivation keeps
    /// the item's other attributes.
    pub async fn record_facial_match(&self, user_id: &str) -> Result<(), IdvError> {
        self.store
            .update(
                Update::new(profile_key(user_id)).set("facial_match", true),
                Expect::Present,
            )
            .await?;
        Ok(())
    }

    /// Whether the identity was verified with a facial match.
    pub async fn facial_match(&self, user_id: &str) -> Result<bool, IdvError> {
        Ok(self
            .store
            .get(&profile_key(user_id))
            .await?
            .and_then(|i| i.get("facial_match").and_then(|v| v.as_bool()))
            .unwrap_or(false))
    }

    /// Deletes the identity (deleting the account sweeps it with the rest of the
    /// partition). `false` when there was none.
    pub async fn remove(&self, user_id: &str) -> Result<bool, IdvError> {
        let removed = self
            .store
            .delete(&profile_key(user_id), Expect::Any)
            .await?;
        Ok(removed.is_some())
    }

    async fn commit(&self, write: Option<Write>) -> Result<bool, IdvError> {
        let Some(write) = write else {
            return Ok(false);
        };
        match self.store.transact(vec![write]).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { .. }) => Err(IdvError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// The account item, once `password` is its password.
    async fn verify_password(&self, user_id: &str, password: &str) -> Result<Item, IdvError> {
        let account = self
            .store
            .get(&account_key(user_id))
            .await?
            .ok_or(IdvError::NoAccount)?;
        let Some(sealed) = account.bytes("password") else {
            // No password since a "this wasn't me" report: as wrong as a wrong one.
            password_hash::burn_equal_time(&self.envelope, &self.kdf, password).await;
            return Err(IdvError::WrongPassword);
        };
        match password_hash::verify_sealed(&self.envelope, &self.kdf, user_id, password, sealed)
            .await?
        {
            Verified::Match { .. } => Ok(account),
            Verified::Mismatch => Err(IdvError::WrongPassword),
        }
    }

    /// Both copies, derived side by side (two argon2 runs on the blocking pool).
    async fn seal_both(
        &self,
        user_id: &str,
        pii: &Pii,
        password: &str,
        key: &PersonalKey,
    ) -> Result<(SealedPii, SealedPii), IdvError> {
        let by_password = seal::seal(
            &self.envelope,
            self.random.as_ref(),
            &self.kdf,
            user_id,
            SealedBy::Password,
            password.as_bytes(),
            pii,
        );
        let by_key = seal::seal(
            &self.envelope,
            self.random.as_ref(),
            &self.kdf,
            user_id,
            SealedBy::PersonalKey,
            key.secret(),
            pii,
        );
        tokio::try_join!(by_password, by_key)
    }
}

#[cfg(all(test, feature = "embedded"))]
mod tests {
    use super::*;
    use crate::account::events::EventContext;
    use crate::idv::testkit::{NEW_PASSWORD, PASSWORD, World, found, sample_pii, world};

    const EMAIL: &str = "ada@example.gov";
    const MINUTE_MS: i64 = 60_000;

    async fn verified(w: &World) -> (String, PersonalKey) {
        let user = w.account(EMAIL).await;
        let key = w
            .profiles
            .activate(&user, &sample_pii(), PASSWORD)
            .await
            .unwrap();
        (user, key)
    }

    /// Opens the personal-key copy without reactivating (no rate limit, no re-seal).
    async fn opens_with_key(w: &World, user: &str, key: &PersonalKey) -> bool {
        let item = w.store.get(&profile_key(user)).await.unwrap().unwrap();
        let sealed = copy_of(&item, KEY_COPY).unwrap();
        seal::open(
            &w.envelope,
            user,
            SealedBy::PersonalKey,
            key.secret(),
            &sealed,
        )
        .await
        .unwrap()
        .is_some()
    }

    #[tokio::test]
    async fn given_the_store_and_the_key_service_but_not_the_password_then_the_pii_stays_closed() {
        // Given an active identity, and someone with the table and the key service
        let w = world().await;
        let (user, _key) = verified(&w).await;
        let item = w.store.get(&profile_key(&user)).await.unwrap().unwrap();
        for copy in [SealedBy::Password, SealedBy::PersonalKey] {
            let name = match copy {
                SealedBy::Password => PASSWORD_COPY,
                SealedBy::PersonalKey => KEY_COPY,
            };
            let sealed = copy_of(&item, name).unwrap();
            // When they unwrap the envelope (the key service's layer)
            let ctx = crate::keys::EncryptionContext::new()
                .with("purpose", "idv-profile")
                .with("user", user.as_str())
                .with("copy", copy.as_str());
            let record = format!("USER#{user}#IDV_PROFILE#{}", copy.as_str());
            let inner = w
                .envelope
                .open(&ctx, &record, sealed.as_bytes())
                .await
                .unwrap();
            // Then what is inside is still ciphertext
            let inner = vec![inner.to_vec()];
            assert_eq!(found(&inner, "Zyxwvutsra"), None);
            assert_eq!(found(&inner, "900112233"), None);
            // And guesses do not open it
            for guess in ["", "password", "correct horse battery stapl", NEW_PASSWORD] {
                let opened = seal::open(&w.envelope, &user, copy, guess.as_bytes(), &sealed)
                    .await
                    .unwrap();
                assert_eq!(opened, None, "{guess}");
            }
        }
        // When the owner gives the password, it opens; a wrong one is refused
        let opened = w
            .profiles
            .open_with_password(&user, PASSWORD)
            .await
            .unwrap();
        assert_eq!(opened, Some(sample_pii()));
        let wrong = w.profiles.open_with_password(&user, NEW_PASSWORD).await;
        assert!(matches!(wrong, Err(IdvError::WrongPassword)), "{wrong:?}");
        assert_eq!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::Active {
                verified_ms: w.clock.now_ms()
            })
        );
    }

    #[tokio::test]
    async fn given_a_wrong_password_when_activating_then_nothing_is_sealed() {
        let w = world().await;
        let user = w.account(EMAIL).await;
        let result = w
            .profiles
            .activate(&user, &sample_pii(), NEW_PASSWORD)
            .await;
        assert!(matches!(result, Err(IdvError::WrongPassword)), "{result:?}");
        assert_eq!(w.profiles.status(&user).await.unwrap(), None);
        let none = w
            .profiles
            .activate("no-such-user", &sample_pii(), PASSWORD)
            .await;
        assert!(matches!(none, Err(IdvError::NoAccount)), "{none:?}");
    }

    #[tokio::test]
    async fn given_an_identity_when_activated_again_then_already_verified() {
        let w = world().await;
        let (user, _) = verified(&w).await;
        let again = w.profiles.activate(&user, &sample_pii(), PASSWORD).await;
        assert!(matches!(again, Err(IdvError::AlreadyVerified)), "{again:?}");
    }

    #[tokio::test]
    async fn given_two_concurrent_activations_then_exactly_one_wins() {
        // Given an account, and both activations reading before either writes
        let w = world().await;
        let user = w.account(EMAIL).await;
        w.gated.arm(2);
        // When both activate
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (profiles, user) = (w.profiles.clone(), user.clone());
                tokio::spawn(async move { profiles.activate(&user, &sample_pii(), PASSWORD).await })
            })
            .collect();
        let mut keys = Vec::new();
        let mut lost = 0;
        for racer in racers {
            match racer.await.unwrap() {
                Ok(key) => keys.push(key),
                Err(IdvError::AlreadyVerified) => lost += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        // Then one wins, and its key is the one that opens the identity
        assert_eq!((keys.len(), lost), (1, 1));
        assert!(opens_with_key(&w, &user, &keys[0]).await);
    }

    #[tokio::test]
    async fn given_a_password_change_then_the_new_password_and_the_key_open_it_not_the_old() {
        // Given an active identity
        let w = world().await;
        let (user, key) = verified(&w).await;
        // When the password changes on the account page
        w.accounts
            .change_password(
                &user,
                PASSWORD,
                NEW_PASSWORD,
                &EventContext::default(),
                vec![],
            )
            .await
            .unwrap();
        // Then the old password no longer opens it, the new one does, the key still does
        let old = w.profiles.open_with_password(&user, PASSWORD).await;
        assert!(matches!(old, Err(IdvError::WrongPassword)), "{old:?}");
        let new = w
            .profiles
            .open_with_password(&user, NEW_PASSWORD)
            .await
            .unwrap();
        assert_eq!(new, Some(sample_pii()));
        assert!(opens_with_key(&w, &user, &key).await);
        assert!(matches!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::Active { .. })
        ));
    }

    #[tokio::test]
    async fn given_a_wrong_current_password_when_changing_then_the_identity_is_untouched() {
        let w = world().await;
        let (user, _) = verified(&w).await;
        let before = w.store.get(&profile_key(&user)).await.unwrap().unwrap();
        let result = w
            .accounts
            .change_password(
                &user,
                NEW_PASSWORD,
                "seventeen copper kettles humming",
                &EventContext::default(),
                vec![],
            )
            .await;
        assert!(result.is_err());
        let after = w.store.get(&profile_key(&user)).await.unwrap().unwrap();
        assert_eq!(before, after);
    }

    #[tokio::test]
    async fn given_a_reset_then_the_identity_waits_for_the_personal_key_which_is_replaced() {
        // Given an active identity
        let w = world().await;
        let (user, key) = verified(&w).await;
        // When the password is reset by email
        w.clock.advance_ms(MINUTE_MS);
        w.reset_password(EMAIL, NEW_PASSWORD).await;
        // Then the identity is deactivated, and no password opens it
        assert_eq!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::Deactivated {
                reason: DeactivationReason::PasswordReset,
                since_ms: w.clock.now_ms()
            })
        );
        for password in [NEW_PASSWORD, PASSWORD] {
            let opened = w.profiles.open_with_password(&user, password).await;
            assert!(matches!(opened, Err(IdvError::Deactivated)), "{opened:?}");
        }
        // And the personal key needs the account's new password to restore it
        let stale = w.profiles.reactivate(&user, &key, PASSWORD).await;
        assert!(matches!(stale, Err(IdvError::WrongPassword)), "{stale:?}");
        // When the personal key and the new password are given
        let (pii, new_key) = w
            .profiles
            .reactivate(&user, &key, NEW_PASSWORD)
            .await
            .unwrap();
        // Then the PII comes back, re-sealed under the new password with a new key
        assert_eq!(pii, sample_pii());
        assert_ne!(new_key, key);
        assert!(matches!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::Active { .. })
        ));
        let opened = w
            .profiles
            .open_with_password(&user, NEW_PASSWORD)
            .await
            .unwrap();
        assert_eq!(opened, Some(sample_pii()));
        // And the old key stops working; the new one works
        assert!(!opens_with_key(&w, &user, &key).await);
        let old = w.profiles.reactivate(&user, &key, NEW_PASSWORD).await;
        assert!(matches!(old, Err(IdvError::WrongPersonalKey)), "{old:?}");
        assert!(opens_with_key(&w, &user, &new_key).await);
    }

    #[tokio::test]
    async fn given_five_wrong_personal_keys_then_even_the_right_one_waits_fifteen_minutes() {
        // Given a deactivated identity, at the start of a 15-minute window
        let w = world().await;
        let (user, key) = verified(&w).await;
        w.reset_password(EMAIL, NEW_PASSWORD).await;
        let window_ms = 15 * MINUTE_MS;
        w.clock
            .set_ms((w.clock.now_ms() / window_ms + 1) * window_ms);
        // When five wrong keys are tried
        let wrong = PersonalKey::parse("0000-0000-0000-0000").unwrap();
        for _ in 0..5 {
            let result = w.profiles.reactivate(&user, &wrong, NEW_PASSWORD).await;
            assert!(
                matches!(result, Err(IdvError::WrongPersonalKey)),
                "{result:?}"
            );
        }
        // Then the right key is refused too, for the rest of the 15 minutes
        let locked = w.profiles.reactivate(&user, &key, NEW_PASSWORD).await;
        let Err(IdvError::TooManyTries { retry_after_secs }) = locked else {
            panic!("{locked:?}");
        };
        assert_eq!(retry_after_secs, 15 * 60);
        w.clock.advance_ms(window_ms - 1000);
        let still = w.profiles.reactivate(&user, &key, NEW_PASSWORD).await;
        assert!(
            matches!(still, Err(IdvError::TooManyTries { .. })),
            "{still:?}"
        );
        // And once they have passed, it works
        w.clock.advance_ms(1000);
        let (pii, _) = w
            .profiles
            .reactivate(&user, &key, NEW_PASSWORD)
            .await
            .unwrap();
        assert_eq!(pii, sample_pii());
    }

    #[tokio::test]
    async fn given_a_deactivated_identity_when_verifying_again_then_it_is_replaced() {
        let w = world().await;
        let (user, old_key) = verified(&w).await;
        w.reset_password(EMAIL, NEW_PASSWORD).await;
        // A password change while deactivated has nothing to re-seal, and goes through
        w.accounts
            .change_password(
                &user,
                NEW_PASSWORD,
                PASSWORD,
                &EventContext::default(),
                vec![],
            )
            .await
            .unwrap();
        let key = w
            .profiles
            .activate_pending_letter(&user, &sample_pii(), PASSWORD)
            .await
            .unwrap();
        assert!(matches!(
            w.profiles.status(&user).await.unwrap(),
            Some(ProfileState::PendingLetter { .. })
        ));
        assert!(opens_with_key(&w, &user, &key).await);
        assert!(!opens_with_key(&w, &user, &old_key).await);
    }

    #[tokio::test]
    async fn given_standalone_calls_then_they_reseal_deactivate_and_remove() {
        let w = world().await;
        let (user, _) = verified(&w).await;
        assert!(
            w.profiles
                .reseal_on_password_change(&user, PASSWORD, NEW_PASSWORD)
                .await
                .unwrap()
        );
        let opened = w
            .profiles
            .open_with_password(&user, NEW_PASSWORD)
            .await
            .unwrap();
        assert_eq!(opened, Some(sample_pii()));
        assert!(w.profiles.deactivate_on_reset(&user).await.unwrap());
        assert!(!w.profiles.deactivate_on_reset(&user).await.unwrap());
        assert!(w.profiles.remove(&user).await.unwrap());
        assert_eq!(w.profiles.status(&user).await.unwrap(), None);
        assert_eq!(
            w.profiles
                .open_with_password(&user, NEW_PASSWORD)
                .await
                .unwrap(),
            None
        );
        assert!(!w.profiles.remove(&user).await.unwrap());
    }

    #[tokio::test]
    async fn given_a_deleted_account_then_its_identity_and_claims_are_gone() {
        let w = world().await;
        let (user, _) = verified(&w).await;
        w.duplicates.claim(&user, &sample_pii()).await.unwrap();
        w.accounts.delete_account(&user).await.unwrap();
        assert_eq!(w.profiles.status(&user).await.unwrap(), None);
        assert_eq!(w.duplicates.ssn_holder(&sample_pii()).await.unwrap(), None);
        // The same person may verify on a new account
        let other = w.account("ada.new@example.gov").await;
        w.duplicates.claim(&other, &sample_pii()).await.unwrap();
    }

    #[tokio::test]
    async fn given_everything_stored_then_no_pii_is_found_in_any_encoding() {
        // Given an identity sealed, changed, reset and restored, claimed for duplicates,
        // waiting for a letter, and kept in a session
        let w = world().await;
        let (user, key) = verified(&w).await;
        w.accounts
            .change_password(
                &user,
                PASSWORD,
                NEW_PASSWORD,
                &EventContext::default(),
                vec![],
            )
            .await
            .unwrap();
        w.reset_password(EMAIL, PASSWORD).await;
        let (pii, _) = w.profiles.reactivate(&user, &key, PASSWORD).await.unwrap();
        w.duplicates.claim(&user, &pii).await.unwrap();
        let code = w.letters.request_letter(&user).await.unwrap();
        let (token, session) = w.sessions.start(&user, Some("totp")).await.unwrap();
        assert!(w.session_pii.keep(&token, &session, &pii).await.unwrap());
        // When every stored byte is scanned
        let stored = w.stored_bytes().await;
        assert!(stored.len() > 10);
        // Then no distinctive value shows, in any encoding
        let p = sample_pii();
        let canonical_code = code.as_str().replace('-', "");
        for value in [
            p.given_name.as_str(),
            p.family_name.as_str(),
            p.ssn.as_str(),
            "900-11-2233",
            p.id_number.as_str(),
            "1600 Pennsylvania",
            p.phone.as_str(),
            "1984-07-19",
            canonical_code.as_str(),
            PASSWORD,
            token.as_str(),
        ] {
            assert_eq!(found(&stored, value), None, "{value} is stored");
        }
        // And the scan does find what it looks for
        assert!(found(&stored, &user).is_some());
    }
}
