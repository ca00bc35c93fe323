//! `GET/POST /account/delete`: deleting the account (ACC-6) takes the password and a
//! recent factor, on a page that says plainly what is lost. Every address is told.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::header;
use serde::Deserialize;

use super::recent::Recent;
use crate::account::accounts::AccountError;
use crate::ratelimit::{SIGN_IN_FAILURES, compound_subject};
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, MessagePage, send_mail};
use crate::web::i18n::Lang;
use crate::web::mail::MailKind;
use crate::web::page::{Page, render};
use crate::web::session::clear_session_cookie;

#[derive(Template)]
#[template(path = "account_delete.html")]
struct DeletePage {
    page: Page,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
struct DeleteForm {
    #[serde(default)]
    password: String,
    /// The "I understand" box.
    #[serde(default)]
    confirm: Option<String>,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/account/delete", get(form).post(delete))
}

async fn form(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
) -> Result<Response, WebError> {
    render(&DeletePage {
        page: recent.page(&state, page),
        errors: FormErrors::default(),
    })
}

async fn delete(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
    CsrfForm(form): CsrfForm<DeleteForm>,
) -> Result<Response, WebError> {
    let mut errors = FormErrors::default();
    if form.password.is_empty() {
        errors.add("password", page.t("password-missing"));
    }
    if form.confirm.is_none() {
        errors.add("confirm", page.t("account-delete-confirm-missing"));
    }
    if !errors.is_empty() {
        return render(&DeletePage {
            page: recent.page(&state, page),
            errors,
        });
    }
    let services = state.account_services().await?;
    let user = recent.0.session.user_id.clone();
    let subject = compound_subject(&["delete-account", &user]);
    services.limiter.hit(&SIGN_IN_FAILURES, &subject).await?;
    let primary = services.accounts.primary_address(&user).await?;
    let verified = match services
        .accounts
        .authenticate(primary.as_str(), &form.password)
        .await
    {
        Ok(account) => account.id == user,
        Err(AccountError::InvalidCredentials) => false,
        Err(e) => return Err(e.into()),
    };
    if !verified {
        errors.add("password", page.t("account-password-current-wrong"));
        return render(&DeletePage {
            page: recent.page(&state, page),
            errors,
        });
    }
    let (account, addresses) = match services.accounts.delete_account(&user).await {
        Ok(done) => done,
        // Deleted meanwhile (another tab): the same outcome.
        Err(AccountError::AccountNotFound) => return deleted(page),
        Err(e) => return Err(e.into()),
    };
    let lang = Lang::from_code(&account.locale).unwrap_or(Lang::En);
    for address in &addresses {
        send_mail(&state, &MailKind::AccountDeleted, lang, address.as_str()).await?;
    }
    services.sessions.end(&recent.0.token).await?;
    deleted(page)
}

fn deleted(page: Page) -> Result<Response, WebError> {
    page.rotate_csrf();
    let body = page.t("account-deleted-body");
    let mut response = MessagePage::render(
        page,
        "account-deleted-title",
        vec![body],
        Some(("/", "account-deleted-home")),
    )?;
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}
