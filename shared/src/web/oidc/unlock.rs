//! `GET|POST /authorize/unlock`: an agency asked for verified attributes and this session
//! holds no opened copy of the identity (a remembered browser, a sign-in by a key): the
//! password opens the sealed identity into the session (IDV-7, IDV-9), then the request
//! resumes. Wrong passwords count toward the sign-in lock like any other.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::HeaderMap;
use serde::Deserialize;
use zeroize::Zeroizing;

use super::RESUME_PATH;
use super::resume::{ended, signed_in, waiting};
use crate::idv::error::IdvError;
use crate::ratelimit::SIGN_IN_FAILURES;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::FormErrors;
use crate::web::page::render;
use crate::web::{Page, WebState};

pub const UNLOCK_PATH: &str = "/authorize/unlock";

pub fn routes() -> Router<WebState> {
    Router::new().route(UNLOCK_PATH, get(ask).post(answer))
}

#[derive(Template)]
#[template(path = "authorize_unlock.html")]
struct UnlockPage {
    page: Page,
    agency: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct UnlockForm {
    /// The account's password; never logged.
    #[serde(default)]
    password: Zeroizing<String>,
}

async fn ask(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let Some((_, agency)) = waiting(&state, &headers).await? else {
        return ended(page);
    };
    if signed_in(&state, &headers).await?.is_none() {
        return Ok(Redirect::to(&page.href(RESUME_PATH)).into_response());
    }
    render(&UnlockPage {
        page,
        agency: agency.name,
        errors: FormErrors::default(),
    })
}

async fn answer(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<UnlockForm>,
) -> Result<Response, WebError> {
    let Some((_, agency)) = waiting(&state, &headers).await? else {
        return ended(page);
    };
    let Some((token, session)) = signed_in(&state, &headers)
        .await?
        .filter(|(_, s)| s.is_complete())
    else {
        return Ok(Redirect::to(&page.href(RESUME_PATH)).into_response());
    };
    let again = |page: Page, message: String| {
        let mut errors = FormErrors::default();
        errors.add("password", message);
        render(&UnlockPage {
            page,
            agency: agency.name.clone(),
            errors,
        })
    };
    if form.password.is_empty() {
        let message = page.t("password-missing");
        return again(page, message);
    }
    let limiter = &state.account_services().await?.limiter;
    let subject = format!("unlock#{}", session.user_id);
    // A locked subject gets the 429 page that says when to come back.
    limiter.peek(&SIGN_IN_FAILURES, &subject).await?;
    let idv = state.idv.get(&state).await?;
    match idv
        .profiles
        .open_with_password(&session.user_id, &form.password)
        .await
    {
        Ok(Some(pii)) => {
            idv.session_pii.keep(&token, &session, &pii).await?;
            limiter.reset(&SIGN_IN_FAILURES, &subject).await?;
            Ok(Redirect::to(&page.href(RESUME_PATH)).into_response())
        }
        Ok(None) => Ok(Redirect::to(&page.href(RESUME_PATH)).into_response()),
        Err(IdvError::WrongPassword) => {
            limiter.hit(&SIGN_IN_FAILURES, &subject).await?;
            let message = page.t("account-password-current-wrong");
            again(page, message)
        }
        Err(e) => Err(e.into()),
    }
}
