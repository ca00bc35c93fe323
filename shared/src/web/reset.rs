//! Password reset (ACC-5): `GET/POST /forgot-password` (email) → a link valid 30
//! minutes → `GET/POST /reset-password?t=` (new password) → every session of the account
//! ends, the owner is told by email, and the person signs in again (a reset never signs
//! anyone in).
//!
//! The email step answers the same, in the same time, whether or not an account uses the
//! address: the same store calls (`Accounts::begin_reset`) and one email to the address
//! typed — the link, or "no account uses this address".
//! The "password changed" notice's "this wasn't me" link leads to `/forgot-password`
//! for now: the dedicated not-me page (LinkKind::NotMe, forcing a reset) comes with the
//! notifications work of ACC-8.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;

use super::CsrfForm;
use super::WebState;
use super::error::WebError;
use super::forms::{self, FormErrors, MessagePage, link, send_mail};
use super::i18n::Lang;
use super::mail::MailKind;
use super::page::{Page, render};
use super::signup::{LinkQuery, PasswordForm, PasswordPageText, link_invalid, password_page};
use crate::account::accounts::AccountError;
use crate::account::email::EmailAddress;
use crate::account::links::LinkToken;
use crate::ratelimit::RESET_EMAILS;

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct Forgot {
    page: Page,
    email: String,
    errors: FormErrors,
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/forgot-password", get(form).post(submit))
        .route("/reset-password", get(reset_form).post(reset))
}

async fn form(page: Page) -> Result<Response, WebError> {
    render(&Forgot {
        page,
        email: String::new(),
        errors: FormErrors::default(),
    })
}

async fn submit(
    State(state): State<WebState>,
    page: Page,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response, WebError> {
    let email = match EmailAddress::parse(&form.email) {
        Ok(email) => email,
        Err(problem) => {
            let mut errors = FormErrors::default();
            errors.add("email", page.t(problem.message_id()));
            return render(&Forgot {
                page,
                email: form.email,
                errors,
            });
        }
    };
    let services = state.account_services().await?;
    services.limiter.hit(&RESET_EMAILS, email.as_str()).await?;
    let lang = page.locale.lang;
    // The same work either way (ACC-3's equal time, for ACC-5): `begin_reset` makes the
    // same store calls, and one email goes to the address typed, whichever it is.
    let kind = match services.accounts.begin_reset(&email).await? {
        Some((_, token)) => MailKind::PasswordReset {
            reset_url: link(&state, lang, "/reset-password", Some(token.as_str())),
        },
        None => MailKind::ResetNoAccount {
            sign_up_url: link(&state, lang, "/sign-up", None),
            reset_url: link(&state, lang, "/forgot-password", None),
        },
    };
    send_mail(&state, &kind, lang, email.as_str()).await?;
    let body = page.t_args("check-email-reset", &[("email", email.as_str().into())]);
    let spam = page.t("check-email-not-received");
    MessagePage::render(
        page,
        "check-email-title",
        vec![body, spam],
        Some(("/forgot-password", "check-email-start-again")),
    )
}

const RESET_TEXT: PasswordPageText = PasswordPageText {
    title: "reset-title",
    lead: "reset-lead",
    action: "/reset-password",
    submit: "reset-submit",
};

fn invalid(page: Page) -> Result<Response, WebError> {
    link_invalid(page, "/forgot-password", "link-invalid-reset-again")
}

async fn reset_form(
    State(state): State<WebState>,
    page: Page,
    Query(query): Query<LinkQuery>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&query.t) else {
        return invalid(page);
    };
    let services = state.account_services().await?;
    match services.accounts.reset_address(&token).await {
        Ok(email) => password_page(
            page,
            &RESET_TEXT,
            token.as_str(),
            email.as_str(),
            FormErrors::default(),
            Vec::new(),
        ),
        Err(AccountError::LinkInvalid | AccountError::Email(_)) => invalid(page),
        Err(e) => Err(e.into()),
    }
}

async fn reset(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&form.t) else {
        return invalid(page);
    };
    let services = state.account_services().await?;
    // Read before the link is used up: the notice goes to the address the link was for.
    let email = match services.accounts.reset_address(&token).await {
        Ok(email) => email,
        Err(AccountError::LinkInvalid | AccountError::Email(_)) => return invalid(page),
        Err(e) => return Err(e.into()),
    };
    let ctx = forms::event_context(&headers);
    match services
        .accounts
        .complete_reset(&token, &form.password, &ctx)
        .await
    {
        Ok(account) => {
            // A session opened with the old password must not outlive it.
            services.sessions.end_all(&account.id).await?;
            // A security notice goes in the account's own email language.
            let lang = Lang::from_code(&account.locale).unwrap_or(page.locale.lang);
            let kind = MailKind::PasswordChanged {
                not_me_url: link(&state, lang, "/forgot-password", None),
            };
            send_mail(&state, &kind, lang, email.as_str()).await?;
            let body = page.t("password-changed-body");
            MessagePage::render(
                page,
                "password-changed-title",
                vec![body],
                Some(("/sign-in", "nav-sign-in")),
            )
        }
        Err(AccountError::Password(problem)) => {
            let (message, feedback) = forms::password_messages(&page, &problem);
            let mut errors = FormErrors::default();
            errors.add("password", message);
            password_page(
                page,
                &RESET_TEXT,
                token.as_str(),
                email.as_str(),
                errors,
                feedback,
            )
        }
        Err(AccountError::LinkInvalid | AccountError::Email(_)) => invalid(page),
        Err(e) => Err(e.into()),
    }
}
