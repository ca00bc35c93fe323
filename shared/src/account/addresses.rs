//! An account's email addresses (ACC-1, ACC-6): add one through a confirmation link,
//! remove one, read them for display and for mail, and the language mail is written in.
//!
//! Two rules hold under concurrency because the store checks them, not the code: an
//! address names one account (its claim item is written with `Expect::Absent` in the same
//! transaction as the address), and an account holds 1 to [`MAX_ADDRESSES`] addresses (the
//! account item's `emails` counter moves in that same transaction, with a condition on its
//! value before the move).

use super::accounts::{
    Account, AccountError, Accounts, LOCALES, MAX_ADDRESSES, account_key, claim_key, email_key,
    link_email_context, record, to_account,
};
use super::email::EmailAddress;
use super::events::{EventContext, EventKind, event_item, partition};
use super::links::{LinkKind, LinkToken};
use crate::random::is_token;
use crate::store::{Check, Expect, Item, Query, StoreError, Update, Write};

/// One of the account's addresses, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEntry {
    /// The address's fingerprint: what the page sends back to name it (never the address).
    pub fp: String,
    pub address: EmailAddress,
    /// When the address was confirmed.
    pub added_ms: i64,
}

/// What asking to add an address did. The page says "check your email" for `Confirm` and
/// `TakenElsewhere` alike, so it tells nobody which addresses are registered.
#[derive(Debug)]
pub enum AddAddress {
    /// Mail this [`LinkKind::ConfirmEmail`] link (24 h) to the new address.
    Confirm(LinkToken),
    /// The address is already one of the account's.
    AlreadyYours,
    /// Another account holds the address; nothing was stored.
    TakenElsewhere,
    /// The account already holds [`MAX_ADDRESSES`] addresses.
    TooMany,
}

/// A fingerprint as [`Accounts::email_fp`] makes them (HMAC-SHA256, base64url): anything
/// else, from a form, names no address and never reaches the store.
fn is_fp(fp: &str) -> bool {
    is_token(fp, 32)
}

impl Accounts {
    /// The account's addresses, oldest first (the first is the primary one).
    pub async fn list_addresses(&self, user_id: &str) -> Result<Vec<AddressEntry>, AccountError> {
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .store
                .query(
                    &Query::partition(partition(user_id))
                        .prefix("EMAIL#")
                        .limit(100)
                        .after(cursor),
                )
                .await?;
            for item in &page.items {
                let Some(fp) = item.key.sk.strip_prefix("EMAIL#") else {
                    continue;
                };
                entries.push(AddressEntry {
                    fp: fp.to_owned(),
                    address: self.open_address(user_id, item).await?,
                    added_ms: item.num("confirmed_ms").unwrap_or(0),
                });
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        // The fingerprint breaks ties so that "the oldest" is the same on every read.
        entries.sort_by(|a, b| a.added_ms.cmp(&b.added_ms).then_with(|| a.fp.cmp(&b.fp)));
        Ok(entries)
    }

    /// The address the account's own messages go to first: the oldest.
    pub async fn primary_address(&self, user_id: &str) -> Result<EmailAddress, AccountError> {
        self.list_addresses(user_id)
            .await?
            .into_iter()
            .next()
            .map(|e| e.address)
            .ok_or(AccountError::AddressNotFound)
    }

    /// The account and every address: notifications (ACC-8) go to all of them, so that a
    /// person who lost control of one address still hears of changes.
    pub async fn addresses_for_mail(
        &self,
        user_id: &str,
    ) -> Result<(Account, Vec<EmailAddress>), AccountError> {
        let account = self
            .account(user_id)
            .await?
            .ok_or(AccountError::AccountNotFound)?;
        let addresses = self
            .list_addresses(user_id)
            .await?
            .into_iter()
            .map(|e| e.address)
            .collect();
        Ok((account, addresses))
    }

    /// Step 1 of adding an address: a confirmation link to mail to it, unless the address
    /// is already registered or the account is full. The counts read here only spare a
    /// useless email; [`Accounts::confirm_add_address`] enforces them.
    pub async fn begin_add_address(
        &self,
        user_id: &str,
        email: &EmailAddress,
    ) -> Result<AddAddress, AccountError> {
        let item = self
            .store
            .get(&account_key(user_id))
            .await?
            .ok_or(AccountError::AccountNotFound)?;
        match self.owner(email).await? {
            Some(owner) if owner == user_id => return Ok(AddAddress::AlreadyYours),
            Some(_) => return Ok(AddAddress::TakenElsewhere),
            None => {}
        }
        if item.num("emails").unwrap_or(0) >= MAX_ADDRESSES {
            return Ok(AddAddress::TooMany);
        }
        let token = LinkToken::new(self.random.as_ref());
        let mut link = token
            .item(LinkKind::ConfirmEmail, self.clock.now_secs())
            .with("user", user_id);
        let sealed = self
            .envelope
            .seal(
                &link_email_context(),
                &record(&link.key),
                email.as_str().as_bytes(),
            )
            .await?;
        link = link.with("email", sealed);
        self.store.put(link, Expect::Absent).await?;
        Ok(AddAddress::Confirm(token))
    }

    /// The address an add-address link would add, while the link is valid (it is not
    /// used up): the confirmation page shows it before the person confirms.
    pub async fn add_address_link(&self, token: &LinkToken) -> Result<EmailAddress, AccountError> {
        let link = self.live_link(token, LinkKind::ConfirmEmail).await?;
        self.link_email(&link).await
    }

    /// Step 2: the link from the new address's mailbox adds it, in one transaction that
    /// uses the link up, claims the address, stores it and counts it. Errors: the link is
    /// used or expired ([`AccountError::LinkInvalid`]), the address was registered
    /// meanwhile, to this account or another ([`AccountError::EmailTaken`]), or the account
    /// filled up meanwhile ([`AccountError::TooManyAddresses`]).
    pub async fn confirm_add_address(
        &self,
        token: &LinkToken,
        ctx: &EventContext,
    ) -> Result<(Account, EmailAddress), AccountError> {
        let link = self.live_link(token, LinkKind::ConfirmEmail).await?;
        let link_key = link.key.clone();
        let user_id = link
            .str("user")
            .ok_or(AccountError::LinkInvalid)?
            .to_owned();
        let email = self.link_email(&link).await?;
        let account = self
            .account(&user_id)
            .await?
            .ok_or(AccountError::LinkInvalid)?;
        let fp = self.email_fp(&email);
        let address_key = email_key(&user_id, &fp);
        let sealed = self.seal_address(&user_id, &address_key, &email).await?;
        let now = self.clock.now_ms();
        let writes = vec![
            Write::Delete(link_key, Expect::Present),
            Write::Put(
                Item::new(claim_key(&fp)).with("user", user_id.clone()),
                Expect::Absent,
            ),
            Write::Put(
                Item::new(address_key)
                    .with("address", sealed)
                    .with("confirmed_ms", now),
                Expect::Absent,
            ),
            // Below the maximum before, so at most the maximum after; the condition also
            // needs the account to exist, so a deleted account gets no address back.
            Write::Update(
                Update::new(account_key(&user_id)).add("emails", 1),
                Expect::All(vec![Check::lt("emails", MAX_ADDRESSES)]),
            ),
            Write::Put(
                event_item(
                    &user_id,
                    EventKind::EmailAdded,
                    ctx,
                    now,
                    self.random.as_ref(),
                ),
                Expect::Absent,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok((account, email)),
            Err(StoreError::TransactionCanceled { failed }) => Err(if failed.contains(&0) {
                AccountError::LinkInvalid
            } else if failed.contains(&1) || failed.contains(&2) {
                AccountError::EmailTaken
            } else if self.account(&user_id).await?.is_none() {
                AccountError::LinkInvalid
            } else {
                AccountError::TooManyAddresses
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the address named by its fingerprint, and frees it for any account. The
    /// last address stays: the counter's condition refuses to go below one, so two
    /// removals of the last two addresses at the same moment leave one.
    pub async fn remove_address(
        &self,
        user_id: &str,
        fp: &str,
        ctx: &EventContext,
    ) -> Result<EmailAddress, AccountError> {
        if !is_fp(fp) {
            return Err(AccountError::AddressNotFound);
        }
        let key = email_key(user_id, fp);
        let item = self
            .store
            .get(&key)
            .await?
            .ok_or(AccountError::AddressNotFound)?;
        let email = self.open_address(user_id, &item).await?;
        let now = self.clock.now_ms();
        let writes = vec![
            Write::Delete(key, Expect::Present),
            Write::Delete(claim_key(fp), Expect::All(vec![Check::eq("user", user_id)])),
            Write::Update(
                Update::new(account_key(user_id)).add("emails", -1),
                Expect::All(vec![Check::gt("emails", 1)]),
            ),
            Write::Put(
                event_item(
                    user_id,
                    EventKind::EmailRemoved,
                    ctx,
                    now,
                    self.random.as_ref(),
                ),
                Expect::Absent,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(email),
            Err(StoreError::TransactionCanceled { failed }) => {
                Err(if failed.contains(&0) || failed.contains(&1) {
                    AccountError::AddressNotFound
                } else if self.account(user_id).await?.is_none() {
                    AccountError::AccountNotFound
                } else {
                    AccountError::LastAddress
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Sets the language of the account's emails: one of [`LOCALES`].
    pub async fn set_locale(&self, user_id: &str, locale: &str) -> Result<Account, AccountError> {
        if !LOCALES.contains(&locale) {
            return Err(AccountError::InvalidLocale);
        }
        let updated = self
            .store
            .update(
                Update::new(account_key(user_id)).set("locale", locale),
                Expect::Present,
            )
            .await;
        match updated {
            Ok(item) => to_account(&item).ok_or(AccountError::AccountNotFound),
            Err(StoreError::ConditionFailed) => Err(AccountError::AccountNotFound),
            Err(e) => Err(e.into()),
        }
    }
}
