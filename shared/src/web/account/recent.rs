//! Sensitive actions need a factor from the last 20 minutes (ACC-3): the [`Recent`]
//! extractor sends anyone whose factor is older to the factor step, which brings them
//! back to the page they asked for.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use http::Method;
use http::request::Parts;

use crate::web::Page;
use crate::web::WebState;
use crate::web::locale::Locale;
use crate::web::mfa::urlencode;
use crate::web::session::SignedIn;

/// A complete session whose last factor is recent.
#[derive(Debug, Clone)]
pub struct Recent(pub SignedIn);

impl Recent {
    /// `page` as this signed-in person's: with the idle-timeout warning.
    pub fn page(&self, state: &WebState, page: Page) -> Page {
        self.0.page(state, page)
    }
}

/// Where a form page is, for a stale POST: its GET twin (`/account/password`), or the
/// account page.
fn form_page(parts: &Parts) -> String {
    if parts.method == Method::GET {
        parts
            .uri
            .path_and_query()
            .map_or_else(|| "/account".to_owned(), |pq| pq.as_str().to_owned())
    } else {
        match parts.uri.path() {
            "/account/password" | "/account/delete" | "/account/email/add" => {
                parts.uri.path().to_owned()
            }
            _ => "/account".to_owned(),
        }
    }
}

/// A complete session whose last factor is recent; without one, a redirect to the factor
/// step that brings the person back to `back(parts)`. Shared by every extractor that
/// guards a sensitive action ([`Recent`], the verification pages' `Verifier`).
pub async fn recent_factor(
    parts: &mut Parts,
    state: &WebState,
    back: impl FnOnce(&Parts) -> String,
) -> Result<SignedIn, Response> {
    let signed_in = SignedIn::from_request_parts(parts, state).await?;
    let services = state
        .account_services()
        .await
        .map_err(IntoResponse::into_response)?;
    let now = state.services.clock.now_ms();
    if signed_in
        .session
        .has_recent_factor(services.sessions.policy(), now)
    {
        return Ok(signed_in);
    }
    let locale = parts.extensions.get::<Locale>().copied();
    let href = |p: &str| locale.map_or_else(|| p.to_owned(), |l| l.href(p));
    let to = format!(
        "{}?return_to={}",
        href("/sign-in/factor"),
        urlencode(&back(parts))
    );
    Err(Redirect::to(&to).into_response())
}

impl FromRequestParts<WebState> for Recent {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        recent_factor(parts, state, form_page).await.map(Recent)
    }
}
