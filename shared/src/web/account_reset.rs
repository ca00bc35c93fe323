//! Account reset when every factor is lost (ACC-7). Asked for at the factor step (a
//! pending session: the password was right), it waits 24 hours; then a scheduled job
//! ([`run_due_resets`]) mails a deletion link valid 24 hours. Every mail of the process
//! carries a cancel link, and signing in with a factor cancels it too.
//!
//! Routes: `GET/POST /account-reset` (ask), `GET/POST /account-reset/cancel?t=`,
//! `GET/POST /account-reset/delete?t=` (links show a button; scanners must not act).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use http::{HeaderMap, header};
use serde::Deserialize;

use super::WebState;
use super::csrf::CsrfForm;
use super::error::WebError;
use super::forms::{MessagePage, event_context, link, send_mail};
use super::i18n::Lang;
use super::mail::MailKind;
use super::page::{Page, render};
use super::session::{PendingSignIn, clear_session_cookie};
use crate::account::accounts::AccountError;
use crate::account::links::LinkToken;

/// Requests handled per job run; the next run takes the rest.
const JOB_BATCH: u32 = 100;

#[derive(Template)]
#[template(path = "account_reset.html")]
struct Ask {
    page: Page,
}

#[derive(Template)]
#[template(path = "link_action.html")]
struct LinkAction {
    page: Page,
    title: String,
    lead: String,
    action: String,
    token: String,
    submit: String,
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    t: String,
}

#[derive(Debug, Deserialize)]
struct Empty {}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/account-reset", get(ask).post(request))
        .route("/account-reset/cancel", get(cancel_form).post(cancel))
        .route("/account-reset/delete", get(delete_form).post(delete))
}

async fn ask(_pending: PendingSignIn, page: Page) -> Result<Response, WebError> {
    render(&Ask { page })
}

async fn request(
    State(state): State<WebState>,
    pending: PendingSignIn,
    page: Page,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user = pending.session.user_id.clone();
    let ctx = event_context(&headers);
    let cancel = services.accounts.request_account_reset(&user, &ctx).await?;
    let (account, addresses) = services.accounts.addresses_for_mail(&user).await?;
    let lang = Lang::from_code(&account.locale).unwrap_or(Lang::En);
    let kind = MailKind::AccountResetRequested {
        cancel_url: link(&state, lang, "/account-reset/cancel", Some(cancel.as_str())),
    };
    for address in &addresses {
        send_mail(&state, &kind, lang, address.as_str()).await?;
    }
    // Nothing more to do signed in: the rest happens by email.
    services.sessions.end(&pending.token).await?;
    page.rotate_csrf();
    let body = page.t("account-reset-requested-body");
    let mut response =
        MessagePage::render(page, "account-reset-requested-title", vec![body], None)?;
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

fn invalid(page: Page) -> Result<Response, WebError> {
    let body = page.t("account-reset-link-invalid");
    MessagePage::render(
        page,
        "link-invalid-title",
        vec![body],
        Some(("/sign-in", "nav-sign-in")),
    )
}

async fn cancel_form(page: Page, Query(q): Query<TokenForm>) -> Result<Response, WebError> {
    if LinkToken::parse(&q.t).is_none() {
        return invalid(page);
    }
    render(&LinkAction {
        title: page.t("account-reset-cancel-title"),
        lead: page.t("account-reset-cancel-lead"),
        action: page.href("/account-reset/cancel"),
        token: q.t,
        submit: page.t("account-reset-cancel-submit"),
        page,
    })
}

async fn cancel(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&form.t) else {
        return invalid(page);
    };
    let services = state.account_services().await?;
    match services
        .accounts
        .cancel_account_reset(&token, &event_context(&headers))
        .await
    {
        Ok(_) | Err(AccountError::ResetNotRequested) => {
            let body = page.t("account-reset-cancelled-body");
            MessagePage::render(
                page,
                "account-reset-cancelled-title",
                vec![body],
                Some(("/sign-in", "nav-sign-in")),
            )
        }
        Err(AccountError::LinkInvalid | AccountError::AccountNotFound) => invalid(page),
        Err(e) => Err(e.into()),
    }
}

async fn delete_form(page: Page, Query(q): Query<TokenForm>) -> Result<Response, WebError> {
    if LinkToken::parse(&q.t).is_none() {
        return invalid(page);
    }
    render(&LinkAction {
        title: page.t("account-reset-delete-title"),
        lead: page.t("account-reset-delete-lead"),
        action: page.href("/account-reset/delete"),
        token: q.t,
        submit: page.t("account-reset-delete-submit"),
        page,
    })
}

async fn delete(
    State(state): State<WebState>,
    page: Page,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&form.t) else {
        return invalid(page);
    };
    let services = state.account_services().await?;
    match services.accounts.delete_by_reset_link(&token).await {
        Ok((account, addresses)) => {
            let lang = Lang::from_code(&account.locale).unwrap_or(Lang::En);
            for address in &addresses {
                send_mail(&state, &MailKind::AccountDeleted, lang, address.as_str()).await?;
            }
            let body = page.t("account-deleted-body");
            MessagePage::render(
                page,
                "account-deleted-title",
                vec![body],
                Some(("/sign-up", "nav-create-account")),
            )
        }
        Err(
            AccountError::LinkInvalid
            | AccountError::ResetNotRequested
            | AccountError::AccountNotFound,
        ) => invalid(page),
        Err(e) => Err(e.into()),
    }
}

/// The scheduled job: mails the deletion link (and a fresh cancel link) to every
/// address of each request whose 24 hours are over. Returns how many were mailed.
///
/// Requests are marked mailed before their mail is queued (so two runs never mail
/// twice); a failed send therefore does not stop the run — every other request still
/// gets its mail — and the run reports the failure at the end, for the alarm.
pub async fn run_due_resets(state: &WebState) -> Result<usize, WebError> {
    let services = state.account_services().await?;
    let due = services.accounts.due_account_resets(JOB_BATCH).await?;
    let mut failed = None;
    for reset in &due {
        let lang = Lang::from_code(&reset.locale).unwrap_or(Lang::En);
        let kind = MailKind::AccountResetReady {
            delete_url: link(
                state,
                lang,
                "/account-reset/delete",
                Some(reset.delete.as_str()),
            ),
            cancel_url: link(
                state,
                lang,
                "/account-reset/cancel",
                Some(reset.cancel.as_str()),
            ),
        };
        for address in &reset.addresses {
            if let Err(e) = send_mail(state, &kind, lang, address.as_str()).await {
                tracing::error!(error = %e, "account reset mail not queued");
                failed = Some(e);
            }
        }
    }
    if !due.is_empty() {
        tracing::info!(mailed = due.len(), "account reset links mailed");
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(due.len()),
    }
}
