//! `GET/POST /not-me?t=`: the "this wasn't me" link of every security notice (ACC-8).
//! Confirming it disables the password, signs the account out everywhere and mails a
//! reset link to every address: whoever made the change can no longer sign in with the
//! password they used.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;

use super::WebState;
use super::csrf::CsrfForm;
use super::error::WebError;
use super::forms::{MessagePage, event_context, link, send_mail};
use super::i18n::Lang;
use super::mail::MailKind;
use super::page::{Page, render};
use crate::account::accounts::AccountError;
use crate::account::links::LinkToken;

#[derive(Template)]
#[template(path = "not_me.html")]
struct NotMe {
    page: Page,
    token: String,
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    t: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/not-me", get(explain).post(secure))
}

fn invalid(page: Page) -> Result<Response, WebError> {
    let body = page.t("not-me-invalid");
    MessagePage::render(
        page,
        "link-invalid-title",
        vec![body],
        Some(("/forgot-password", "not-me-reset-instead")),
    )
}

/// The link only shows a button: mail scanners that open links must not act.
async fn explain(page: Page, Query(q): Query<TokenForm>) -> Result<Response, WebError> {
    if LinkToken::parse(&q.t).is_none() {
        return invalid(page);
    }
    render(&NotMe { page, token: q.t })
}

async fn secure(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&form.t) else {
        return invalid(page);
    };
    let services = state.account_services().await?;
    let ctx = event_context(&headers);
    let (account, addresses) = match services.accounts.report_not_me(&token, &ctx).await {
        Ok(found) => found,
        Err(AccountError::LinkInvalid | AccountError::AccountNotFound) => return invalid(page),
        Err(e) => return Err(e.into()),
    };
    services.sessions.end_all(&account.id).await?;
    let lang = Lang::from_code(&account.locale).unwrap_or(Lang::En);
    for address in &addresses {
        if let Some((_, reset)) = services.accounts.begin_reset(address).await? {
            let kind = MailKind::PasswordReset {
                reset_url: link(&state, lang, "/reset-password", Some(reset.as_str())),
            };
            send_mail(&state, &kind, lang, address.as_str()).await?;
        }
    }
    let body = page.t("not-me-done-body");
    let next = page.t("not-me-done-next");
    MessagePage::render(page, "not-me-done-title", vec![body, next], None)
}
