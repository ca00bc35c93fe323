//! Accounts (ACC-1, ACC-3, ACC-5): sign-up by confirmed email, sign-in by email and
//! password, password reset. Addresses are stored sealed and found by fingerprint; one
//! address names one account because its claim item is created in the same transaction
//! as the account, and a link is consumed in the same transaction as what it authorises.
//!
//! What the account page and the account reset do to an account lives in sibling modules
//! (`addresses`, `password_change`, `deletion`, `recovery`, `not_me`), as further
//! `impl Accounts` blocks over the keys and helpers defined here.

use std::sync::Arc;

use super::email::{EmailAddress, EmailProblem};
use super::events::{EventContext, EventKind, event_item, partition};
use super::links::{LinkKind, LinkToken};
use super::password::{self, PasswordProblem};
use super::password_hash::{self, HashParams, PasswordHashError, Verified};
use crate::clock::Clock;
use crate::envelope::{Envelope, EnvelopeError};
use crate::fingerprint::{FingerprintError, Fingerprints};
use crate::idv::profile;
use crate::keys::EncryptionContext;
use crate::random::{Random, RandomExt};
use crate::store::{Expect, Item, Key, Store, StoreError, Update, Write};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Email(#[from] EmailProblem),
    #[error("{0}")]
    Password(#[from] PasswordProblem),
    /// Wrong email or password: deliberately not saying which.
    #[error("the email address or password is not right")]
    InvalidCredentials,
    /// Expired, already used, or never issued.
    #[error("the link has expired or was already used")]
    LinkInvalid,
    /// Someone finished registering this address first.
    #[error("the email address is already registered")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sealing(#[from] EnvelopeError),
    #[error(transparent)]
    Hash(#[from] PasswordHashError),
    #[error(transparent)]
    Fingerprint(#[from] FingerprintError),
    /// No account has this id (any more).
    #[error("the account does not exist")]
    AccountNotFound,
    /// The account has no address with this fingerprint.
    #[error("the email address is not on the account")]
    AddressNotFound,
    /// ACC-1: an account holds at most [`MAX_ADDRESSES`] confirmed addresses.
    #[error("the account already has the most email addresses it may hold")]
    TooManyAddresses,
    /// ACC-1: an account keeps at least one address.
    #[error("the last email address of an account cannot be removed")]
    LastAddress,
    /// Another change to the account committed between this one's read and its write;
    /// nothing was written and the caller may try again.
    #[error("the account changed meanwhile; try again")]
    Conflict,
    /// No account reset is pending (never requested, cancelled, or expired).
    #[error("no account reset is pending")]
    ResetNotRequested,
    /// Not one of [`LOCALES`].
    #[error("unsupported language")]
    InvalidLocale,
    /// The verified identity could not be re-sealed or deactivated with the password.
    #[error(transparent)]
    Identity(#[from] crate::idv::error::IdvError),
}

/// ACC-1: the most confirmed addresses one account holds.
pub const MAX_ADDRESSES: i64 = 12;

/// The languages an account's emails can be written in.
pub const LOCALES: [&str; 3] = ["en", "fr", "es"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Password set, no second factor yet: sign-in cannot finish (MFA issue).
    FactorPending,
    Active,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::FactorPending => "factor_pending",
            AccountStatus::Active => "active",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "factor_pending" => Some(AccountStatus::FactorPending),
            "active" => Some(AccountStatus::Active),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub status: AccountStatus,
    /// The language of the account's emails: `en`, `fr` or `es`.
    pub locale: String,
    pub created_ms: i64,
    /// When the password was last set (sign-up, reset, change): sessions older than this
    /// should not survive it.
    pub password_changed_ms: i64,
}

/// What starting a sign-up did. The page shows the same thing either way; the caller
/// mails the confirmation link, or tells the owner someone tried their address.
#[derive(Debug)]
pub enum SignupStart {
    Confirm(LinkToken),
    AlreadyRegistered,
}

#[derive(Debug, Clone)]
pub struct Accounts {
    pub(super) store: Arc<dyn Store>,
    pub(super) envelope: Arc<Envelope>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) random: Arc<dyn Random>,
    fingerprints: Fingerprints,
    pub(super) hash: HashParams,
}

/// An account id no account has (ids are random tokens): the read an unknown address
/// makes so that it costs what a known one does (sign-in and [`Accounts::begin_reset`]).
const NO_ACCOUNT: &str = "-";

pub(crate) fn account_key(user_id: &str) -> Key {
    Key::new(partition(user_id), "ACCOUNT")
}

pub(super) fn claim_key(fp: &str) -> Key {
    Key::new(format!("EMAIL#{fp}"), "CLAIM")
}

pub(super) fn email_key(user_id: &str, fp: &str) -> Key {
    Key::new(partition(user_id), format!("EMAIL#{fp}"))
}

pub(super) fn email_context(user_id: &str) -> EncryptionContext {
    EncryptionContext::new()
        .with("purpose", "email")
        .with("user", user_id)
}

pub(super) fn link_email_context() -> EncryptionContext {
    EncryptionContext::new().with("purpose", "link-email")
}

pub(super) fn record(key: &Key) -> String {
    format!("{}#{}", key.pk, key.sk)
}

pub(super) fn to_account(item: &Item) -> Option<Account> {
    Some(Account {
        id: item.key.pk.strip_prefix("USER#")?.to_owned(),
        status: AccountStatus::parse(item.str("status")?)?,
        locale: item.str("locale").unwrap_or("en").to_owned(),
        created_ms: item.num("created_ms").unwrap_or(0),
        password_changed_ms: item
            .num("password_changed_ms")
            .or(item.num("created_ms"))
            .unwrap_or(0),
    })
}

impl Accounts {
    pub async fn new(
        store: Arc<dyn Store>,
        envelope: Arc<Envelope>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn Random>,
        hash: HashParams,
    ) -> Result<Self, AccountError> {
        let fingerprints =
            Fingerprints::load_or_create(store.as_ref(), &envelope, random.as_ref()).await?;
        Ok(Self {
            store,
            envelope,
            clock,
            random,
            fingerprints,
            hash,
        })
    }

    pub fn fingerprints(&self) -> &Fingerprints {
        &self.fingerprints
    }

    pub(super) fn email_fp(&self, email: &EmailAddress) -> String {
        self.fingerprints.of("email", email.as_str())
    }

    pub async fn account(&self, user_id: &str) -> Result<Option<Account>, AccountError> {
        let item = self.store.get(&account_key(user_id)).await?;
        Ok(item.as_ref().and_then(to_account))
    }

    /// The live item of an emailed link (not expired, not used up), or
    /// [`AccountError::LinkInvalid`].
    pub(super) async fn live_link(
        &self,
        token: &LinkToken,
        kind: LinkKind,
    ) -> Result<Item, AccountError> {
        self.store
            .get(&token.key(kind))
            .await?
            .ok_or(AccountError::LinkInvalid)
    }

    /// The account an address belongs to, if any.
    pub(super) async fn owner(&self, email: &EmailAddress) -> Result<Option<String>, AccountError> {
        let claim = self.store.get(&claim_key(&self.email_fp(email))).await?;
        Ok(claim.and_then(|c| c.str("user").map(str::to_owned)))
    }

    /// Step 1 of sign-up: a link to confirm the address, unless it is already registered.
    pub async fn begin_signup(
        &self,
        email: &EmailAddress,
        locale: &str,
    ) -> Result<SignupStart, AccountError> {
        if self.owner(email).await?.is_some() {
            return Ok(SignupStart::AlreadyRegistered);
        }
        let token = LinkToken::new(self.random.as_ref());
        let mut item = token.item(LinkKind::ConfirmSignup, self.clock.now_secs());
        let sealed = self
            .envelope
            .seal(
                &link_email_context(),
                &record(&item.key),
                email.as_str().as_bytes(),
            )
            .await?;
        item = item.with("email", sealed).with("locale", locale);
        self.store.put(item, Expect::Absent).await?;
        Ok(SignupStart::Confirm(token))
    }

    /// The address a sign-up link confirms, while the link is valid (the link is not
    /// used up: the person still has to choose a password).
    pub async fn signup_email(&self, token: &LinkToken) -> Result<EmailAddress, AccountError> {
        let item = self.live_link(token, LinkKind::ConfirmSignup).await?;
        self.link_email(&item).await
    }

    pub(super) async fn link_email(&self, item: &Item) -> Result<EmailAddress, AccountError> {
        let sealed = item.bytes("email").ok_or(AccountError::LinkInvalid)?;
        let plain = self
            .envelope
            .open(&link_email_context(), &record(&item.key), sealed)
            .await?;
        let text = std::str::from_utf8(&plain).map_err(|_| AccountError::LinkInvalid)?;
        Ok(EmailAddress::parse(text)?)
    }

    /// Step 2: with a valid link and an acceptable password, the account exists, its
    /// address claimed and confirmed, the link used up — all in one transaction.
    pub async fn complete_signup(
        &self,
        token: &LinkToken,
        new_password: &str,
        ctx: &EventContext,
    ) -> Result<Account, AccountError> {
        let link = self.live_link(token, LinkKind::ConfirmSignup).await?;
        let link_key = link.key.clone();
        let email = self.link_email(&link).await?;
        password::check(new_password, email.as_str())?;
        let locale = link.str("locale").unwrap_or("en").to_owned();
        let user_id = self.random.token(16);
        let now = self.clock.now_ms();
        let sealed_password = password_hash::hash_and_seal(
            &self.envelope,
            self.random.as_ref(),
            &self.hash,
            &user_id,
            new_password,
        )
        .await?;
        let fp = self.email_fp(&email);
        let address_key = email_key(&user_id, &fp);
        let sealed_email = self.seal_address(&user_id, &address_key, &email).await?;
        let account = Item::new(account_key(&user_id))
            .with("status", AccountStatus::FactorPending.as_str())
            .with("password", sealed_password)
            .with("password_changed_ms", now)
            .with("locale", locale.clone())
            .with("created_ms", now)
            .with("emails", 1i64);
        let writes = vec![
            Write::Delete(link_key, Expect::Present),
            Write::Put(
                Item::new(claim_key(&fp)).with("user", user_id.clone()),
                Expect::Absent,
            ),
            Write::Put(account, Expect::Absent),
            Write::Put(
                Item::new(address_key)
                    .with("address", sealed_email)
                    .with("confirmed_ms", now),
                Expect::Absent,
            ),
            Write::Put(
                event_item(
                    &user_id,
                    EventKind::AccountCreated,
                    ctx,
                    now,
                    self.random.as_ref(),
                ),
                Expect::Absent,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(Account {
                id: user_id,
                status: AccountStatus::FactorPending,
                locale,
                created_ms: now,
                password_changed_ms: now,
            }),
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
                Err(AccountError::LinkInvalid)
            }
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
                Err(AccountError::EmailTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Checks an email and password. Unknown addresses, and accounts whose password was
    /// disabled ("this wasn't me", ACC-8), cost the same argon2 work as a wrong password,
    /// and every failure is the same error.
    pub async fn authenticate(
        &self,
        raw_email: &str,
        candidate: &str,
    ) -> Result<Account, AccountError> {
        // Every case makes the same two reads (a claim, then an account), so the store's
        // latency (DynamoDB in AWS) does not tell them apart either: an address that does
        // not parse looks up the claim of what was typed, an unknown one an account that
        // cannot exist.
        let owner = match EmailAddress::parse(raw_email) {
            Ok(email) => self.owner(&email).await?,
            Err(_) => {
                let typed = raw_email.trim().to_lowercase();
                let fp = self.fingerprints.of("email", &typed);
                self.store.get(&claim_key(&fp)).await?;
                None
            }
        };
        let found = match owner {
            Some(user_id) => self.store.get(&account_key(&user_id)).await?,
            None => {
                self.store.get(&account_key(NO_ACCOUNT)).await?;
                None
            }
        };
        let usable = found
            .as_ref()
            .and_then(|item| Some((item, to_account(item)?, item.bytes("password")?)));
        let Some((item, account, sealed)) = usable else {
            password_hash::burn_equal_time(&self.envelope, &self.hash, candidate).await;
            return Err(AccountError::InvalidCredentials);
        };
        match password_hash::verify_sealed(
            &self.envelope,
            &self.hash,
            &account.id,
            candidate,
            sealed,
        )
        .await?
        {
            Verified::Mismatch => Err(AccountError::InvalidCredentials),
            Verified::Match { needs_rehash } => {
                if needs_rehash {
                    self.rehash(item, &account.id, candidate).await?;
                }
                Ok(account)
            }
        }
    }

    /// Re-seals the password under the current parameters, unless it changed meanwhile.
    async fn rehash(&self, item: &Item, user_id: &str, password: &str) -> Result<(), AccountError> {
        let sealed = password_hash::hash_and_seal(
            &self.envelope,
            self.random.as_ref(),
            &self.hash,
            user_id,
            password,
        )
        .await?;
        let done = self
            .store
            .update(
                Update::new(item.key.clone()).set("password", sealed),
                Expect::Version(item.version),
            )
            .await;
        match done {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Step 1 of a reset: a link for the account the address belongs to, if any (the
    /// page says the same either way).
    ///
    /// The same store calls whether or not an account uses the address (ACC-3's equal time
    /// applied to ACC-5): the address's claim is read, then an account (the owner's, or
    /// `NO_ACCOUNT`, which none has), then a link item is written. For an address without
    /// an account that item names no account, so it opens nothing (`reset_address` and
    /// `complete_reset` refuse it) and expires with the link's 30 minutes.
    pub async fn begin_reset(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<(Account, LinkToken)>, AccountError> {
        let fp = self.email_fp(email);
        let claim = self.store.get(&claim_key(&fp)).await?;
        let owner = claim.and_then(|c| c.str("user").map(str::to_owned));
        let account = self
            .account(owner.as_deref().unwrap_or(NO_ACCOUNT))
            .await?
            .filter(|_| owner.is_some());
        let token = LinkToken::new(self.random.as_ref());
        let mut item = token
            .item(LinkKind::ResetPassword, self.clock.now_secs())
            .with("fp", fp);
        if let Some(account) = &account {
            item = item.with("user", account.id.as_str());
        }
        self.store.put(item, Expect::Absent).await?;
        Ok(account.map(|a| (a, token)))
    }

    /// The address a reset link was sent to, while the link is valid (the link is not
    /// used up): the reset page checks the link with it before showing the form, and
    /// the "password changed" notice goes to it.
    pub async fn reset_address(&self, token: &LinkToken) -> Result<EmailAddress, AccountError> {
        let link = self.live_link(token, LinkKind::ResetPassword).await?;
        let (Some(user_id), Some(fp)) = (link.str("user"), link.str("fp")) else {
            return Err(AccountError::LinkInvalid);
        };
        self.address(user_id, fp).await
    }

    /// Step 2: a new password through a valid reset link. The link is used up in the same
    /// transaction; the caller ends every session and does not sign the person in.
    pub async fn complete_reset(
        &self,
        token: &LinkToken,
        new_password: &str,
        ctx: &EventContext,
    ) -> Result<Account, AccountError> {
        let link = self.live_link(token, LinkKind::ResetPassword).await?;
        let link_key = link.key.clone();
        let (Some(user_id), Some(fp)) = (link.str("user"), link.str("fp")) else {
            return Err(AccountError::LinkInvalid);
        };
        let account = self
            .account(user_id)
            .await?
            .ok_or(AccountError::LinkInvalid)?;
        let address = self.address(user_id, fp).await?;
        password::check(new_password, address.as_str())?;
        let sealed = password_hash::hash_and_seal(
            &self.envelope,
            self.random.as_ref(),
            &self.hash,
            user_id,
            new_password,
        )
        .await?;
        let now = self.clock.now_ms();
        // ACC-5: the verified identity sealed under the old password is deactivated in
        // the same transaction; only its personal key restores it.
        let deactivation = profile::deactivation_write(self.store.as_ref(), user_id, now).await?;
        let mut writes = vec![
            Write::Delete(link_key, Expect::Present),
            // A reset is what a "this wasn't me" report asks for: it clears the flag.
            Write::Update(
                Update::new(account_key(user_id))
                    .set("password", sealed)
                    .set("password_changed_ms", now)
                    .remove("password_reset_required"),
                Expect::Present,
            ),
            Write::Put(
                event_item(
                    user_id,
                    EventKind::PasswordReset,
                    ctx,
                    now,
                    self.random.as_ref(),
                ),
                Expect::Absent,
            ),
        ];
        let deactivation_at = writes.len();
        writes.extend(deactivation);
        match self.store.transact(writes).await {
            Ok(()) => Ok(Account {
                password_changed_ms: now,
                ..account
            }),
            // The identity went (its account being deleted) between the read and the write.
            Err(StoreError::TransactionCanceled { failed }) if failed == [deactivation_at] => {
                Err(AccountError::Conflict)
            }
            Err(StoreError::TransactionCanceled { .. }) => Err(AccountError::LinkInvalid),
            Err(e) => Err(e.into()),
        }
    }

    /// One of the account's addresses, opened.
    pub(super) async fn address(
        &self,
        user_id: &str,
        fp: &str,
    ) -> Result<EmailAddress, AccountError> {
        let item = self
            .store
            .get(&email_key(user_id, fp))
            .await?
            .ok_or(AccountError::LinkInvalid)?;
        self.open_address(user_id, &item)
            .await
            .map_err(|e| match e {
                AccountError::AddressNotFound => AccountError::LinkInvalid,
                e => e,
            })
    }

    /// Seals `email` for the account's address item at `key`: the seal names the user and
    /// the item, so it opens nowhere else.
    pub(super) async fn seal_address(
        &self,
        user_id: &str,
        key: &Key,
        email: &EmailAddress,
    ) -> Result<Vec<u8>, AccountError> {
        Ok(self
            .envelope
            .seal(
                &email_context(user_id),
                &record(key),
                email.as_str().as_bytes(),
            )
            .await?)
    }

    /// The address an account's address item holds.
    pub(super) async fn open_address(
        &self,
        user_id: &str,
        item: &Item,
    ) -> Result<EmailAddress, AccountError> {
        let sealed = item.bytes("address").ok_or(AccountError::AddressNotFound)?;
        let plain = self
            .envelope
            .open(&email_context(user_id), &record(&item.key), sealed)
            .await?;
        let text = std::str::from_utf8(&plain).map_err(|_| AccountError::AddressNotFound)?;
        Ok(EmailAddress::parse(text)?)
    }
}
