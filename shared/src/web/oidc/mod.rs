//! The agency-facing pages of OpenID Connect: the authorize endpoint (OIDC-2), the
//! decision that follows sign-in (session, AAL, consent), the consent page (OIDC-8) and
//! RP-initiated logout. The JSON endpoints are in [`crate::api`].
//!
//! A validated request waits server-side ([`crate::oidc::pending`]); the browser carries
//! its id in the `__Host-authorize` cookie through sign-in, sign-up and the factor step,
//! which all end at `/authorize/resume` while it is set ([`continuation`]).

mod authorize;
pub(crate) mod consent;
mod end_session;
pub(crate) mod not_verified;
mod resume;
pub(crate) mod unlock;

use axum::Router;
use http::HeaderMap;

use super::WebState;
use super::cookies;

/// The pending-request cookie's name without its `__Host-` prefix.
pub const AUTHORIZE_COOKIE: &str = "authorize";

/// Where a finished sign-in (or sign-up) goes while an agency's request waits.
pub const RESUME_PATH: &str = "/authorize/resume";

pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(authorize::routes())
        .merge(resume::routes())
        .merge(consent::routes())
        .merge(end_session::routes())
        .merge(unlock::routes())
        .merge(not_verified::routes())
}

/// Whether the agency's request waiting for this browser's sign-in needs a factor used in
/// this sign-in (`aal/2`, phishing-resistant, or any verified identity): a remembered
/// browser must not stand in for it (ACC-4, MFA-7).
pub async fn waiting_needs_fresh_factor(
    state: &WebState,
    headers: &HeaderMap,
) -> Result<bool, super::error::WebError> {
    use crate::oidc::request::AalLevel;
    Ok(resume::waiting(state, headers)
        .await?
        .is_some_and(|(pending, _)| pending.request.acr.required_aal() > AalLevel::Default))
}

/// `/authorize/resume` when an agency's request waits for this browser's sign-in.
pub fn continuation(headers: &HeaderMap) -> Option<&'static str> {
    cookies::get(headers, &format!("__Host-{AUTHORIZE_COOKIE}"))
        .filter(|v| !v.is_empty())
        .map(|_| RESUME_PATH)
}
