//! "This wasn't me" (ACC-8): every notification carries a link, valid 10 days, that the
//! owner follows when a change they did not make is reported to them. It disables the
//! password at once — whoever changed things knows it — until a reset by email sets a new
//! one. The caller ends the account's sessions and mails reset links.

use super::accounts::{Account, AccountError, Accounts, account_key};
use super::email::EmailAddress;
use super::events::{EventContext, EventKind, event_item};
use super::links::{LinkKind, LinkToken};
use crate::store::{Expect, StoreError, Update, Write};

impl Accounts {
    /// A fresh [`LinkKind::NotMe`] link for one notification of the account.
    pub async fn not_me_link(&self, user_id: &str) -> Result<LinkToken, AccountError> {
        if self.account(user_id).await?.is_none() {
            return Err(AccountError::AccountNotFound);
        }
        let token = LinkToken::new(self.random.as_ref());
        let item = token
            .item(LinkKind::NotMe, self.clock.now_secs())
            .with("user", user_id);
        self.store.put(item, Expect::Absent).await?;
        Ok(token)
    }

    /// The owner says a change was not theirs: the link is used up, the password removed
    /// (signing in with it now fails exactly like a wrong password) and the account marked
    /// `password_reset_required`, in one transaction. Returns the account and its
    /// addresses, to mail reset links to.
    pub async fn report_not_me(
        &self,
        token: &LinkToken,
        ctx: &EventContext,
    ) -> Result<(Account, Vec<EmailAddress>), AccountError> {
        let link = self.live_link(token, LinkKind::NotMe).await?;
        let link_key = link.key.clone();
        let user_id = link.str("user").ok_or(AccountError::LinkInvalid)?;
        let (account, addresses) = match self.addresses_for_mail(user_id).await {
            Ok(found) => found,
            Err(AccountError::AccountNotFound) => return Err(AccountError::LinkInvalid),
            Err(e) => return Err(e),
        };
        let writes = vec![
            Write::Delete(link_key.clone(), Expect::Present),
            Write::Update(
                Update::new(account_key(user_id))
                    .remove("password")
                    .set("password_reset_required", true),
                Expect::Present,
            ),
            Write::Put(
                event_item(
                    user_id,
                    EventKind::NotMeReported,
                    ctx,
                    self.clock.now_ms(),
                    self.random.as_ref(),
                ),
                Expect::Absent,
            ),
        ];
        match self.store.transact(writes).await {
            Ok(()) => Ok((account, addresses)),
            Err(StoreError::TransactionCanceled { .. }) => Err(AccountError::LinkInvalid),
            Err(e) => Err(e.into()),
        }
    }
}
