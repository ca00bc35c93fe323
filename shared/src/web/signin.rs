//! Sign-in (ACC-3), first step: `GET/POST /sign-in` with email and password.
//!
//! Every way of being wrong — unknown address, wrong password, an address that is not
//! one — gets the same page, status and message, and costs the same argon2 work
//! (`Accounts::authenticate`). Attempts are counted per email + client address
//! (SIGN_IN_FAILURES; the address is the platform's, see [`super::client`]) and per email
//! across addresses (SIGN_IN_EMAIL_FAILURES) before the password is checked, and a
//! success clears the counts.
//! A right password starts a *pending* session and leads to the factor step
//! (`/sign-in/factor`), or to factor set-up for an account that has no factor yet. A
//! remembered browser (ACC-4) skips the factor step, except for an agency's request that
//! needs a factor of this sign-in (aal/2, phishing-resistant, verified identity).

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, header};
use serde::Deserialize;

use super::CsrfForm;
use super::WebState;
use super::client::ClientSubject;
use super::cookies;
use super::error::WebError;
use super::forms::FormErrors;
use super::mfa::{REMEMBER_COOKIE, complete_sign_in};
use super::page::{Page, render};
use super::session::{AnySession, see_other_with, session_cookie, token_of};
use crate::account::accounts::{AccountError, AccountStatus};
use crate::account::email::EmailAddress;
use crate::ratelimit::{
    RateLimitError, SIGN_IN_EMAIL_FAILURES, SIGN_IN_FAILURES, compound_subject,
};
use crate::session::remember::REMEMBERED;

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignIn {
    page: Page,
    email: String,
    errors: FormErrors,
    /// A notice above the form: the session ended, or the person signed out.
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    ended: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub fn routes() -> Router<WebState> {
    Router::new().route("/sign-in", get(form).post(submit))
}

async fn form(page: Page, Query(q): Query<SignInQuery>) -> Result<Response, WebError> {
    let notice = if q.ended.is_some() {
        Some(page.t("session-ended-notice"))
    } else if q.signed_out.is_some() {
        Some(page.t("signed-out-notice"))
    } else {
        None
    };
    render(&SignIn {
        page,
        email: String::new(),
        errors: FormErrors::default(),
        notice,
    })
}

async fn submit(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    client: ClientSubject,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Result<Response, WebError> {
    // Empty fields say nothing about any account: ask for them without counting.
    let mut errors = FormErrors::default();
    if form.email.trim().is_empty() {
        errors.add("email", page.t("email-missing"));
    }
    if form.password.is_empty() {
        errors.add("password", page.t("password-missing"));
    }
    if !errors.is_empty() {
        return render(&SignIn {
            page,
            email: form.email,
            errors,
            notice: None,
        });
    }
    let services = state.account_services().await?;
    // The subject uses the address as accounts do (normalised), so "Jane@" and "jane@"
    // share a counter; what does not parse is counted as typed, lowercased.
    let who = EmailAddress::parse(&form.email).map_or_else(
        |_| form.email.trim().to_lowercase(),
        |e| e.as_str().to_owned(),
    );
    let subject = compound_subject(&[&who, &client.0]);
    services.limiter.hit(&SIGN_IN_FAILURES, &subject).await?;
    // Per email across every address (a distributed guesser). A browser that may be
    // remembered for the account is decided after the password: a remembered one passes
    // a lock, so a stranger cannot lock the owner out of their own browser. Any other
    // attempt is counted first, as every limit is.
    let remember_cookie = cookies::get(&headers, &format!("__Host-{REMEMBER_COOKIE}"));
    let email_lock = if remember_cookie.is_some() {
        match services.limiter.peek(&SIGN_IN_EMAIL_FAILURES, &who).await {
            Ok(_) => None,
            Err(blocked @ RateLimitError::Blocked { .. }) => Some(blocked),
            Err(e) => return Err(e.into()),
        }
    } else {
        services.limiter.hit(&SIGN_IN_EMAIL_FAILURES, &who).await?;
        None
    };
    match services
        .accounts
        .authenticate(&form.email, &form.password)
        .await
    {
        Ok(account) => {
            // A browser remembered for this account stands in for the factor (ACC-4), but
            // never for an agency's request that needs a factor of this sign-in (aal/2,
            // phishing-resistant, a verified identity): that one goes to the factor step.
            let remembered = match remember_cookie {
                Some(value) if account.status == AccountStatus::Active => {
                    services.remembered.accepts(&account.id, value).await?
                        && !crate::web::oidc::waiting_needs_fresh_factor(&state, &headers).await?
                }
                _ => false,
            };
            if let Some(blocked) = email_lock
                && !remembered
            {
                // The same answer as a wrong password under the lock: nothing learnt.
                return Err(blocked.into());
            }
            services.limiter.reset(&SIGN_IN_FAILURES, &subject).await?;
            services
                .limiter
                .reset(&SIGN_IN_EMAIL_FAILURES, &who)
                .await?;
            // A session this browser still holds (an agency's prompt=login, a second
            // sign-in) ends: the new one replaces it rather than leaving it behind.
            if let Some(old) = token_of(&headers) {
                services.sessions.end(&old).await?;
            }
            // The password opens a pending session only: the factor step (or, for an
            // account without a factor yet, factor set-up) completes the sign-in.
            let (token, pending) = services.sessions.start_pending(&account.id).await?;
            if remembered {
                let pending = AnySession {
                    token,
                    session: pending,
                };
                let set = complete_sign_in(&state, &headers, &pending, REMEMBERED).await?;
                let to = crate::web::oidc::continuation(&headers).unwrap_or("/account");
                let mut response = Redirect::to(&page.href(to)).into_response();
                for c in set {
                    response.headers_mut().append(header::SET_COOKIE, c);
                }
                return Ok(response);
            }
            let next = match account.status {
                AccountStatus::FactorPending => "/mfa/setup",
                AccountStatus::Active => "/sign-in/factor",
            };
            Ok(see_other_with(&page.href(next), session_cookie(&token)?))
        }
        Err(AccountError::InvalidCredentials | AccountError::Email(_)) => {
            if let Some(blocked) = email_lock {
                return Err(blocked.into());
            }
            if remember_cookie.is_some() {
                // Not counted before the password (see above): counted now.
                services.limiter.hit(&SIGN_IN_EMAIL_FAILURES, &who).await?;
            }
            let mut errors = FormErrors::default();
            errors.add("email", page.t("signin-failed"));
            render(&SignIn {
                page,
                email: form.email,
                errors,
                notice: None,
            })
        }
        Err(e) => Err(e.into()),
    }
}
