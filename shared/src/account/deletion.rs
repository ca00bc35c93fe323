//! Deleting an account (ACC-6 on request, ACC-7 through an account reset): the account
//! item first, so that nothing signs in from that moment, then everything it owns — every
//! item of its partition (its verified identity too), the claims that reserved its
//! addresses and its identity's fingerprints (IDV-6), its active session.
//!
//! Then the account's key is destroyed (crypto-shredding, [`crate::envelope::AccountKeys`]):
//! backups of the table, which still hold the deleted items, open nothing of them.
//!
//! The order makes an interrupted deletion safe to run again: the account item is gone
//! before anything else, and an address's claim goes before the address item that names
//! it, so whatever is left is always found again from the partition.

use super::accounts::{Account, AccountError, Accounts, account_key, claim_key, to_account};
use super::email::EmailAddress;
use super::events::partition;
use crate::idv::duplicates;
use crate::store::{Check, Expect, Key, Query, StoreError, Write};

/// Items deleted per transaction: a page of the partition, plus the session its active
/// session pointer names, stays well under the store's 100 writes.
const SWEEP_PAGE: u32 = 90;

fn session_key(id: &str) -> Key {
    Key::new(format!("SESSION#{id}"), "SESSION")
}

impl Accounts {
    /// Deletes the account and everything it owns. Returns the account and its addresses,
    /// opened before anything was deleted, for the "account deleted" email.
    ///
    /// Safe to run again: a second run finishes whatever an interrupted first one left,
    /// and answers [`AccountError::AccountNotFound`] (so of two concurrent deletions,
    /// exactly one reports the deletion and mails).
    pub async fn delete_account(
        &self,
        user_id: &str,
    ) -> Result<(Account, Vec<EmailAddress>), AccountError> {
        // Opened first: once the items go, nothing can tell where to write.
        let addresses: Vec<EmailAddress> = self
            .list_addresses(user_id)
            .await?
            .into_iter()
            .map(|e| e.address)
            .collect();
        let removed = self
            .store
            .delete(&account_key(user_id), Expect::Present)
            .await;
        let account = match removed {
            Ok(item) => item.as_ref().and_then(to_account),
            Err(StoreError::ConditionFailed) => None,
            Err(e) => return Err(e.into()),
        };
        self.sweep(user_id).await?;
        // Last, so that a rerun still finds what to sweep: from here on nothing sealed for
        // the account opens, in the table or in any copy of it.
        self.envelope.shred(user_id).await?;
        account
            .map(|a| (a, addresses))
            .ok_or(AccountError::AccountNotFound)
    }

    /// Deletes every item of the account's partition, its addresses' and identity's
    /// claims and its active session. The account item must already be gone (or going).
    pub(super) async fn sweep(&self, user_id: &str) -> Result<(), AccountError> {
        let mut cursor = None;
        loop {
            let page = self
                .store
                .query(
                    &Query::partition(partition(user_id))
                        .limit(SWEEP_PAGE)
                        .after(cursor),
                )
                .await?;
            let mut writes = Vec::with_capacity(page.items.len() + 1);
            for item in &page.items {
                if let Some(fp) = item.key.sk.strip_prefix("EMAIL#") {
                    self.release_claim(user_id, fp).await?;
                }
                if item.key.sk.starts_with("IDV_CLAIM#") {
                    duplicates::release_pointed(self.store.as_ref(), user_id, item).await?;
                }
                if item.key.sk == "ACTIVE_SESSION"
                    && let Some(session) = item.str("session")
                {
                    writes.push(Write::Delete(session_key(session), Expect::Any));
                }
                writes.push(Write::Delete(item.key.clone(), Expect::Any));
            }
            if !writes.is_empty() {
                // Unconditional deletes: this transaction cannot be cancelled by state.
                self.store.transact(writes).await?;
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Frees an address for registration again, if this account still holds its claim
    /// (never another account's, whatever a stale item says).
    async fn release_claim(&self, user_id: &str, fp: &str) -> Result<(), AccountError> {
        let released = self
            .store
            .delete(
                &claim_key(fp),
                Expect::All(vec![Check::eq("user", user_id)]),
            )
            .await;
        match released {
            Ok(_) | Err(StoreError::ConditionFailed) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
