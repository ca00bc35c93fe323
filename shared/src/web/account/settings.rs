//! Small account settings: the language of the account's emails, and signing out on
//! every device.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use http::HeaderMap;
use serde::Deserialize;

use crate::account::accounts::AccountError;
use crate::account::events::{EventKind, event_item};
use crate::store::Expect;
use crate::web::WebState;
use crate::web::csrf::CsrfForm;
use crate::web::error::WebError;
use crate::web::forms::event_context;
use crate::web::page::Page;
use crate::web::session::{SignedIn, clear_session_cookie, see_other_with};

#[derive(Debug, Deserialize)]
struct LocaleForm {
    /// `en`, `fr` or `es`.
    #[serde(default)]
    locale: String,
}

#[derive(Debug, Deserialize)]
struct Empty {}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/account/language", post(language))
        .route("/account/sign-out-everywhere", post(sign_out_everywhere))
        .route("/account/forget-browsers", post(forget_browsers))
}

async fn language(
    State(state): State<WebState>,
    signed_in: SignedIn,
    page: Page,
    CsrfForm(form): CsrfForm<LocaleForm>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    match services
        .accounts
        .set_locale(&signed_in.session.user_id, &form.locale)
        .await
    {
        Ok(_) => Ok(Redirect::to(&page.href("/account?done=language")).into_response()),
        Err(AccountError::InvalidLocale) => Err(WebError::BadRequest),
        Err(e) => Err(e.into()),
    }
}

/// "Forget all browsers" (ACC-4): every remembered browser asks for a factor again.
async fn forget_browsers(
    State(state): State<WebState>,
    signed_in: SignedIn,
    page: Page,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    services
        .remembered
        .forget_all(&signed_in.session.user_id)
        .await?;
    Ok(Redirect::to(&page.href("/account?done=browsers-forgotten")).into_response())
}

async fn sign_out_everywhere(
    State(state): State<WebState>,
    signed_in: SignedIn,
    page: Page,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, WebError> {
    let services = state.account_services().await?;
    let user = &signed_in.session.user_id;
    services.sessions.end_all(user).await?;
    // Also this browser's, should it not be the account's active one any more.
    services.sessions.end(&signed_in.token).await?;
    let now = state.services.clock.now_ms();
    state
        .services
        .store
        .put(
            event_item(
                user,
                EventKind::SignedOutEverywhere,
                &event_context(&headers),
                now,
                state.services.random.as_ref(),
            ),
            Expect::Absent,
        )
        .await?;
    Ok(see_other_with(
        &page.href("/sign-in?signed_out=1"),
        clear_session_cookie(),
    ))
}
