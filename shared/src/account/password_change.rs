//! Changing the password from the account page (ACC-6): the current password proves the
//! person is the owner, the new one meets ACC-2, and the change commits only over the
//! account as it was read, so of two concurrent changes one wins and the other writes
//! nothing.

use super::accounts::{Account, AccountError, Accounts, account_key, to_account};
use super::events::{EventContext, EventKind, event_item};
use super::password;
use super::password_hash::{self, Verified};
use crate::idv::profile;
use crate::store::{Expect, MAX_TRANSACTION_WRITES, StoreError, Update, Write};

/// The writes of a change itself: the account item, the event and, when the account
/// has a verified identity sealed under the password, its re-sealed copy.
const OWN_WRITES: usize = 3;

impl Accounts {
    /// Replaces the password after checking the current one. `extra` writes commit in the
    /// same transaction, after the change's own: the web layer passes the session rotation,
    /// so the new password and the one session that survives it exist together or not at
    /// all. At most `MAX_TRANSACTION_WRITES - 3` extra writes, on other keys.
    ///
    /// Errors: a wrong current password (or none, after a "this wasn't me" report) is
    /// [`AccountError::InvalidCredentials`]; a new password ACC-2 refuses is
    /// [`AccountError::Password`]; any concurrent change to the account (or a failing
    /// `extra` expectation) is [`AccountError::Conflict`], with nothing written.
    pub async fn change_password(
        &self,
        user_id: &str,
        current: &str,
        new: &str,
        ctx: &EventContext,
        extra: Vec<Write>,
    ) -> Result<Account, AccountError> {
        if extra.len() > MAX_TRANSACTION_WRITES - OWN_WRITES {
            return Err(StoreError::Invalid(format!(
                "a password change takes at most {} extra writes",
                MAX_TRANSACTION_WRITES - OWN_WRITES
            ))
            .into());
        }
        let item = self
            .store
            .get(&account_key(user_id))
            .await?
            .ok_or(AccountError::AccountNotFound)?;
        let account = to_account(&item).ok_or(AccountError::AccountNotFound)?;
        let Some(sealed) = item.bytes("password") else {
            // Same work as a wrong password: the page must not tell the two apart.
            password_hash::burn_equal_time(&self.envelope, &self.hash, current).await;
            return Err(AccountError::InvalidCredentials);
        };
        let verified =
            password_hash::verify_sealed(&self.envelope, &self.hash, user_id, current, sealed)
                .await?;
        if verified == Verified::Mismatch {
            return Err(AccountError::InvalidCredentials);
        }
        let primary = self.primary_address(user_id).await?;
        password::check(new, primary.as_str())?;
        let sealed = password_hash::hash_and_seal(
            &self.envelope,
            self.random.as_ref(),
            &self.hash,
            user_id,
            new,
        )
        .await?;
        // IDV-7: the identity sealed under the current password is sealed under the new
        // one in the same transaction, over the identity as read (a concurrent change to
        // it is a conflict like any other).
        let reseal = profile::reseal_write(
            self.store.as_ref(),
            &self.envelope,
            self.random.as_ref(),
            &self.hash,
            user_id,
            current,
            new,
        )
        .await?;
        let now = self.clock.now_ms();
        let mut writes = Vec::with_capacity(OWN_WRITES + extra.len());
        writes.push(Write::Update(
            Update::new(account_key(user_id))
                .set("password", sealed)
                .set("password_changed_ms", now),
            Expect::Version(item.version),
        ));
        writes.push(Write::Put(
            event_item(
                user_id,
                EventKind::PasswordChanged,
                ctx,
                now,
                self.random.as_ref(),
            ),
            Expect::Absent,
        ));
        writes.extend(reseal);
        writes.extend(extra);
        match self.store.transact(writes).await {
            Ok(()) => Ok(Account {
                password_changed_ms: now,
                ..account
            }),
            Err(StoreError::TransactionCanceled { .. }) => Err(AccountError::Conflict),
            Err(e) => Err(e.into()),
        }
    }
}
