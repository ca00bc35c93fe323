//! Sign-up (ACC-1): `GET/POST /sign-up` (email and the rules of use) → a confirmation
//! link by email → `GET/POST /sign-up/confirm?t=` (choose a password) → the account
//! exists, "factor pending", and a pending session takes the person to factor set-up
//! (`/mfa/setup`); sign-in cannot finish until a factor exists.
//!
//! The answer to the email step never depends on whether the address is registered: the
//! same "check your email" page, and the mail (a link, or "someone tried to register
//! your address") is what differs, sent to the address's owner only.

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
use super::mail::MailKind;
use super::page::{Page, render};
use super::session::{see_other_with, session_cookie};
use crate::account::accounts::{AccountError, SignupStart};
use crate::account::email::EmailAddress;
use crate::account::links::LinkToken;
use crate::ratelimit::REGISTRATION_EMAILS;

#[derive(Template)]
#[template(path = "sign_up.html")]
struct SignUp {
    page: Page,
    email: String,
    accepted: bool,
    errors: FormErrors,
}

/// The password form, shared by sign-up and reset.
#[derive(Template)]
#[template(path = "set_password.html")]
pub(crate) struct SetPassword {
    pub page: Page,
    pub title: String,
    pub lead: String,
    pub action: String,
    pub token: String,
    pub email: String,
    pub errors: FormErrors,
    pub feedback: Vec<String>,
    pub submit: String,
}

#[derive(Debug, Deserialize)]
struct SignUpForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    accept_rules: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct LinkQuery {
    #[serde(default)]
    pub t: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    pub t: String,
    #[serde(default)]
    pub password: String,
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/sign-up", get(form).post(submit))
        .route("/sign-up/confirm", get(confirm_form).post(confirm))
}

async fn form(page: Page) -> Result<Response, WebError> {
    render(&SignUp {
        page,
        email: String::new(),
        accepted: false,
        errors: FormErrors::default(),
    })
}

async fn submit(
    State(state): State<WebState>,
    page: Page,
    CsrfForm(form): CsrfForm<SignUpForm>,
) -> Result<Response, WebError> {
    let mut errors = FormErrors::default();
    let email = EmailAddress::parse(&form.email)
        .map_err(|p| errors.add("email", page.t(p.message_id())))
        .ok();
    let accepted = form.accept_rules.is_some();
    if !accepted {
        errors.add("accept_rules", page.t("signup-rules-required"));
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return render(&SignUp {
            page,
            email: form.email,
            accepted,
            errors,
        });
    };
    let services = state.account_services().await?;
    services
        .limiter
        .hit(&REGISTRATION_EMAILS, email.as_str())
        .await?;
    let lang = page.locale.lang;
    let kind = match services.accounts.begin_signup(&email, lang.code()).await? {
        SignupStart::Confirm(token) => MailKind::ConfirmSignup {
            confirm_url: link(&state, lang, "/sign-up/confirm", Some(token.as_str())),
        },
        SignupStart::AlreadyRegistered => MailKind::AlreadyRegistered {
            sign_in_url: link(&state, lang, "/sign-in", None),
            reset_url: link(&state, lang, "/forgot-password", None),
        },
    };
    send_mail(&state, &kind, lang, email.as_str()).await?;
    let body = page.t_args("check-email-signup", &[("email", email.as_str().into())]);
    let spam = page.t("check-email-not-received");
    MessagePage::render(
        page,
        "check-email-title",
        vec![body, spam],
        Some(("/sign-up", "check-email-start-again")),
    )
}

/// The "expired or used link" page, with a way to start again at `again`.
pub(crate) fn link_invalid(page: Page, again: &str, again_id: &str) -> Result<Response, WebError> {
    let body = page.t("link-invalid-body");
    MessagePage::render(
        page,
        "link-invalid-title",
        vec![body],
        Some((again, again_id)),
    )
}

/// The message ids and form action that make the shared password page a sign-up or a
/// reset page.
pub(crate) struct PasswordPageText {
    pub title: &'static str,
    pub lead: &'static str,
    pub action: &'static str,
    pub submit: &'static str,
}

const SIGNUP_TEXT: PasswordPageText = PasswordPageText {
    title: "signup-password-title",
    lead: "signup-password-lead",
    action: "/sign-up/confirm",
    submit: "signup-password-submit",
};

/// The "choose a password" page, for sign-up and reset alike.
pub(crate) fn password_page(
    page: Page,
    text: &PasswordPageText,
    token: &str,
    email: &str,
    errors: FormErrors,
    feedback: Vec<String>,
) -> Result<Response, WebError> {
    render(&SetPassword {
        title: page.t(text.title),
        lead: page.t_args(text.lead, &[("email", email.into())]),
        action: page.href(text.action),
        token: token.to_owned(),
        email: email.to_owned(),
        errors,
        feedback,
        submit: page.t(text.submit),
        page,
    })
}

async fn confirm_form(
    State(state): State<WebState>,
    page: Page,
    Query(query): Query<LinkQuery>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&query.t) else {
        return link_invalid(page, "/sign-up", "link-invalid-signup-again");
    };
    let services = state.account_services().await?;
    match services.accounts.signup_email(&token).await {
        Ok(email) => password_page(
            page,
            &SIGNUP_TEXT,
            token.as_str(),
            email.as_str(),
            FormErrors::default(),
            Vec::new(),
        ),
        Err(AccountError::LinkInvalid | AccountError::Email(_)) => {
            link_invalid(page, "/sign-up", "link-invalid-signup-again")
        }
        Err(e) => Err(e.into()),
    }
}

async fn confirm(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let Some(token) = LinkToken::parse(&form.t) else {
        return link_invalid(page, "/sign-up", "link-invalid-signup-again");
    };
    let services = state.account_services().await?;
    let ctx = forms::event_context(&headers);
    match services
        .accounts
        .complete_signup(&token, &form.password, &ctx)
        .await
    {
        // The account exists; the person is half signed in, on to their first factor.
        Ok(account) => {
            let (session, _) = services.sessions.start_pending(&account.id).await?;
            Ok(see_other_with(
                &page.href("/mfa/setup?new=1"),
                session_cookie(&session)?,
            ))
        }
        Err(AccountError::Password(problem)) => {
            // Nothing was stored: show the form again with what to change.
            let email = services.accounts.signup_email(&token).await?;
            let (message, feedback) = forms::password_messages(&page, &problem);
            let mut errors = FormErrors::default();
            errors.add("password", message);
            password_page(
                page,
                &SIGNUP_TEXT,
                token.as_str(),
                email.as_str(),
                errors,
                feedback,
            )
        }
        // Expired, used, or someone finished registering the address first.
        Err(AccountError::LinkInvalid | AccountError::EmailTaken | AccountError::Email(_)) => {
            link_invalid(page, "/sign-up", "link-invalid-signup-again")
        }
        Err(e) => Err(e.into()),
    }
}
