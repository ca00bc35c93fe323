//! Security notifications (ACC-8): a change to the account is told to every one of its
//! addresses, in the account's email language, each notice carrying a "this wasn't me"
//! link (valid 10 days) that forces a password reset.

use super::WebState;
use super::error::WebError;
use super::forms::{link, send_mail};
use super::i18n::Lang;
use super::mail::MailKind;

/// Mails `notice` to every address of `user_id`; it is built once, given the account's
/// email language and the not-me URL.
pub async fn notify_account(
    state: &WebState,
    user_id: &str,
    notice: impl FnOnce(Lang, String) -> MailKind,
) -> Result<(), WebError> {
    let accounts = &state.account_services().await?.accounts;
    let (account, addresses) = accounts.addresses_for_mail(user_id).await?;
    let lang = Lang::from_code(&account.locale).unwrap_or(Lang::En);
    let token = accounts.not_me_link(user_id).await?;
    let kind = notice(lang, link(state, lang, "/not-me", Some(token.as_str())));
    for address in &addresses {
        send_mail(state, &kind, lang, address.as_str()).await?;
    }
    Ok(())
}

/// `a***@example.gov`: enough for the owner to recognise an address in a notice sent
/// to their other addresses, without spelling it out.
pub fn mask_address(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}
