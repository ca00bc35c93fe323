//! `GET/POST /account/password`: a new password, the current one required. The new
//! password and the only surviving session (this browser's, under a new token) commit
//! in one transaction: no session anywhere outlives the old password, even when two
//! changes race (the one that commits last is the password, and its session the one left).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;

use super::recent::Recent;
use crate::account::accounts::AccountError;
use crate::ratelimit::{SIGN_IN_FAILURES, compound_subject};
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::{FormErrors, event_context, password_messages};
use crate::web::mail::MailKind;
use crate::web::notices::notify_account;
use crate::web::page::{Page, render};
use crate::web::session::{see_other_with, session_cookie};

/// How often a change retries when another change or sign-in commits first.
const ATTEMPTS: usize = 3;

#[derive(Template)]
#[template(path = "account_password.html")]
struct PasswordPage {
    page: Page,
    errors: FormErrors,
    feedback: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    /// 12–128 characters (ACC-2).
    #[serde(default)]
    password: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/account/password", get(form).post(change))
}

async fn form(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
) -> Result<Response, WebError> {
    render(&PasswordPage {
        page: recent.page(&state, page),
        errors: FormErrors::default(),
        feedback: Vec::new(),
    })
}

async fn change(
    State(state): State<WebState>,
    recent: Recent,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, WebError> {
    let mut errors = FormErrors::default();
    if form.current.is_empty() {
        errors.add("current", page.t("password-missing"));
    }
    if form.password.is_empty() {
        errors.add("password", page.t("password-missing"));
    }
    if !errors.is_empty() {
        return render(&PasswordPage {
            page: recent.page(&state, page),
            errors,
            feedback: Vec::new(),
        });
    }
    let services = state.account_services().await?;
    let session = &recent.0.session;
    let user = session.user_id.clone();
    // Guessing the current password from a stolen session is limited like sign-in.
    let subject = compound_subject(&["password-change", &user]);
    services.limiter.hit(&SIGN_IN_FAILURES, &subject).await?;
    let ctx = event_context(&headers);
    for _ in 0..ATTEMPTS {
        let started = services
            .sessions
            .start_writes(&user, session.factor_kind.as_deref())
            .await?;
        match services
            .accounts
            .change_password(&user, &form.current, &form.password, &ctx, started.writes)
            .await
        {
            Ok(_) => {
                services.limiter.reset(&SIGN_IN_FAILURES, &subject).await?;
                notify_account(&state, &user, |_, not_me_url| MailKind::PasswordChanged {
                    not_me_url,
                })
                .await?;
                return Ok(see_other_with(
                    &page.href("/account?done=password"),
                    session_cookie(&started.token)?,
                ));
            }
            Err(AccountError::Conflict) => continue,
            Err(AccountError::InvalidCredentials) => {
                errors.add("current", page.t("account-password-current-wrong"));
                return render(&PasswordPage {
                    page: recent.page(&state, page),
                    errors,
                    feedback: Vec::new(),
                });
            }
            Err(AccountError::Password(problem)) => {
                let (message, feedback) = password_messages(&page, &problem);
                errors.add("password", message);
                return render(&PasswordPage {
                    page: recent.page(&state, page),
                    errors,
                    feedback,
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(WebError::Unavailable(
        "password change kept conflicting".into(),
    ))
}
