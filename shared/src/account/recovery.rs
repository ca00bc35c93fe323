//! Account reset when every factor is lost (ACC-7): the person asks, waits 24 hours, then
//! every address of the account receives a link that deletes the account (valid 24 hours);
//! a link in any of those emails cancels, and so does a full sign-in with a factor.
//!
//! The wait is not a page request: a scheduled job calls [`Accounts::due_account_resets`]
//! and mails what it returns. Pending requests are found through `gsi1` (partition
//! `ACCOUNT_RESET`, sorted by due time), and a request leaves the index in the same
//! conditional transaction that creates its links, so two runs of the job mail it once.

use super::accounts::{Account, AccountError, Accounts, account_key, to_account};
use super::email::EmailAddress;
use super::events::{EventContext, EventKind, event_item, partition};
use super::links::{LinkKind, LinkToken};

use crate::store::{
    Check, Expect, GSI1_PK, GSI1_SK, Index, Item, Key, MAX_QUERY_LIMIT, Query, StoreError, Update,
    Write,
};

/// ACC-7: how long a request waits before the deletion link is mailed.
pub const RESET_WAIT_MS: i64 = 24 * 3600 * 1000;

/// The `gsi1` partition that lists pending requests by due time.
const PENDING: &str = "ACCOUNT_RESET";

/// How many times a request retries when another request of the same account races it.
const REQUEST_ATTEMPTS: usize = 3;

fn reset_key(user_id: &str) -> Key {
    Key::new(partition(user_id), "ACCOUNT_RESET")
}

/// A request whose wait is over, marked mailed: mail `delete` and `cancel` to every
/// address, in `locale`.
#[derive(Debug)]
pub struct DueReset {
    pub user_id: String,
    pub locale: String,
    pub addresses: Vec<EmailAddress>,
    /// [`LinkKind::AccountResetDelete`], 24 hours.
    pub delete: LinkToken,
    /// A fresh [`LinkKind::AccountResetCancel`].
    pub cancel: LinkToken,
}

impl Accounts {
    /// Starts the 24-hour wait, unless a request is already pending (its due time stays:
    /// asking again must not push the deletion back, nor bring it forward). Returns a
    /// cancel link to mail to every address, with the news that a reset was asked for.
    pub async fn request_account_reset(
        &self,
        user_id: &str,
        ctx: &EventContext,
    ) -> Result<LinkToken, AccountError> {
        for _ in 0..REQUEST_ATTEMPTS {
            let now = self.clock.now_ms();
            let existing = self.store.get(&reset_key(user_id)).await?;
            let request = match &existing {
                Some(item) => Write::Check(item.key.clone(), Expect::Version(item.version)),
                None => {
                    let due = now + RESET_WAIT_MS;
                    Write::Put(
                        Item::new(reset_key(user_id))
                            .with("requested_ms", now)
                            .with("due_ms", due)
                            .with(GSI1_PK, PENDING)
                            // Zero-padded, so the index's string order is time order.
                            .with(GSI1_SK, format!("{due:013}#{user_id}")),
                        Expect::Absent,
                    )
                }
            };
            let cancel = LinkToken::new(self.random.as_ref());
            let writes = vec![
                request,
                Write::Check(account_key(user_id), Expect::Present),
                Write::Put(
                    cancel
                        .item(LinkKind::AccountResetCancel, self.clock.now_secs())
                        .with("user", user_id),
                    Expect::Absent,
                ),
                Write::Put(
                    event_item(
                        user_id,
                        EventKind::AccountResetRequested,
                        ctx,
                        now,
                        self.random.as_ref(),
                    ),
                    Expect::Absent,
                ),
            ];
            match self.store.transact(writes).await {
                Ok(()) => return Ok(cancel),
                Err(StoreError::TransactionCanceled { failed }) if failed.contains(&1) => {
                    return Err(AccountError::AccountNotFound);
                }
                // Another request (or the job) changed the request meanwhile: read again.
                Err(StoreError::TransactionCanceled { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AccountError::Conflict)
    }

    /// Cancels the pending reset through a cancel link (from any of the account's
    /// emails). The link works once; without a pending reset nothing changes and the
    /// answer is [`AccountError::ResetNotRequested`].
    pub async fn cancel_account_reset(
        &self,
        token: &LinkToken,
        ctx: &EventContext,
    ) -> Result<Account, AccountError> {
        let link = self.live_link(token, LinkKind::AccountResetCancel).await?;
        let link_key = link.key.clone();
        let user_id = link.str("user").ok_or(AccountError::LinkInvalid)?;
        let account = self
            .account(user_id)
            .await?
            .ok_or(AccountError::LinkInvalid)?;
        let writes = vec![
            Write::Delete(link_key.clone(), Expect::Present),
            Write::Delete(reset_key(user_id), Expect::Present),
            Write::Put(
                event_item(
                    user_id,
                    EventKind::AccountResetCancelled,
                    ctx,
                    self.clock.now_ms(),
                    self.random.as_ref(),
                ),
                Expect::Absent,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(account),
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {
                Err(AccountError::LinkInvalid)
            }
            Err(StoreError::TransactionCanceled { .. }) => Err(AccountError::ResetNotRequested),
            Err(e) => Err(e.into()),
        }
    }

    /// Cancels the account's pending reset, if any: a full sign-in with a factor proves
    /// the factor was not lost after all (as Login.gov does). Whether one was pending.
    pub async fn cancel_account_reset_for(
        &self,
        user_id: &str,
        ctx: &EventContext,
    ) -> Result<bool, AccountError> {
        // One read on every sign-in; the write only when there is something to cancel.
        if self.store.get(&reset_key(user_id)).await?.is_none() {
            return Ok(false);
        }
        let writes = vec![
            // Whatever its state, even mailed meanwhile: the deletion link then finds
            // no request and does nothing.
            Write::Delete(reset_key(user_id), Expect::Present),
            Write::Put(
                event_item(
                    user_id,
                    EventKind::AccountResetCancelled,
                    ctx,
                    self.clock.now_ms(),
                    self.random.as_ref(),
                ),
                Expect::Absent,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(true),
            Err(StoreError::TransactionCanceled { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// For the scheduled job: up to `limit` requests whose wait is over, each marked
    /// mailed with its two new links in one conditional transaction. A request another
    /// run took (or a person cancelled) since the index was read is skipped, so each
    /// request is returned once, by one run. The caller mails every entry.
    pub async fn due_account_resets(&self, limit: u32) -> Result<Vec<DueReset>, AccountError> {
        let now = self.clock.now_ms();
        let mut due = Vec::new();
        let mut cursor = None;
        while (due.len() as u32) < limit {
            let page = self
                .store
                .query(
                    &Query::partition(PENDING)
                        .on(Index::Gsi1)
                        .limit(limit.clamp(1, MAX_QUERY_LIMIT))
                        .after(cursor),
                )
                .await?;
            for item in &page.items {
                // In due order: the first one not due ends the search.
                if item.num("due_ms").is_none_or(|d| d > now) {
                    return Ok(due);
                }
                let Some(user_id) = item.key.pk.strip_prefix("USER#") else {
                    continue;
                };
                if let Some(reset) = self.take_due_reset(user_id, now).await? {
                    due.push(reset);
                    if due.len() as u32 >= limit {
                        break;
                    }
                }
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(due)
    }

    /// Marks one request mailed and makes its links, if it is still due and unmailed
    /// (the index is eventually consistent: the item itself is the truth).
    async fn take_due_reset(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Option<DueReset>, AccountError> {
        let key = reset_key(user_id);
        let Some(request) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let Some(requested) = request.num("requested_ms") else {
            return Ok(None);
        };
        if request.get("mailed_ms").is_some() || request.num("due_ms").is_none_or(|d| d > now) {
            return Ok(None);
        }
        let Some(account) = self.account(user_id).await? else {
            // Left by an interrupted deletion: nobody to mail.
            match self
                .store
                .delete(&key, Expect::Version(request.version))
                .await
            {
                Ok(_) | Err(StoreError::ConditionFailed) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        };
        let addresses: Vec<EmailAddress> = self
            .list_addresses(user_id)
            .await?
            .into_iter()
            .map(|e| e.address)
            .collect();
        let now_secs = now.div_euclid(1000);
        let delete = LinkToken::new(self.random.as_ref());
        let cancel = LinkToken::new(self.random.as_ref());
        let writes = vec![
            // Out of the index (never found again), and gone when the deletion link
            // expires, so that a later request starts a new wait.
            Write::Update(
                Update::new(key)
                    .set("mailed_ms", now)
                    .remove(GSI1_PK)
                    .remove(GSI1_SK)
                    .expire_at(now_secs + LinkKind::AccountResetDelete.ttl_secs()),
                Expect::Version(request.version),
            ),
            // The deletion link names its request: it can never delete under a later one.
            Write::Put(
                delete
                    .item(LinkKind::AccountResetDelete, now_secs)
                    .with("user", user_id)
                    .with("requested_ms", requested),
                Expect::Absent,
            ),
            Write::Put(
                cancel
                    .item(LinkKind::AccountResetCancel, now_secs)
                    .with("user", user_id),
                Expect::Absent,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok(Some(DueReset {
                user_id: user_id.to_owned(),
                locale: account.locale,
                addresses,
                delete,
                cancel,
            })),
            Err(StoreError::TransactionCanceled { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The emailed deletion link: valid, and the reset still pending (not cancelled), it
    /// deletes the account. The link, the request and the account item go in one
    /// transaction, so a cancellation and a deletion racing each other cannot both win;
    /// the rest of the account follows. Returns the account and its addresses, opened
    /// before the deletion, for the "account deleted" email.
    pub async fn delete_by_reset_link(
        &self,
        token: &LinkToken,
    ) -> Result<(Account, Vec<EmailAddress>), AccountError> {
        let link = self.live_link(token, LinkKind::AccountResetDelete).await?;
        let link_key = link.key.clone();
        let (Some(user_id), Some(requested)) = (link.str("user"), link.num("requested_ms")) else {
            return Err(AccountError::LinkInvalid);
        };
        let item = self
            .store
            .get(&account_key(user_id))
            .await?
            .ok_or(AccountError::LinkInvalid)?;
        let account = to_account(&item).ok_or(AccountError::LinkInvalid)?;
        let addresses: Vec<EmailAddress> = self
            .list_addresses(user_id)
            .await?
            .into_iter()
            .map(|e| e.address)
            .collect();
        let writes = vec![
            Write::Delete(link_key.clone(), Expect::Present),
            Write::Delete(
                reset_key(user_id),
                Expect::All(vec![
                    Check::Exists("mailed_ms".into()),
                    Check::eq("requested_ms", requested),
                ]),
            ),
            Write::Delete(account_key(user_id), Expect::Present),
        ];
        match self.store.transact(writes).await {
            Ok(()) => {}
            Err(StoreError::TransactionCanceled { failed })
                if failed.contains(&0) || failed.contains(&2) =>
            {
                return Err(AccountError::LinkInvalid);
            }
            Err(StoreError::TransactionCanceled { .. }) => {
                return Err(AccountError::ResetNotRequested);
            }
            Err(e) => return Err(e.into()),
        }
        self.sweep(user_id).await?;
        Ok((account, addresses))
    }
}
