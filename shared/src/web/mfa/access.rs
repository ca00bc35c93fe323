//! Who may set up a method: the [`FactorAccess`] extractor.

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Redirect, Response};
use http::request::Parts;

use crate::account::accounts::AccountStatus;
use crate::session::{Session, SessionToken};
use crate::web::WebState;
use crate::web::locale::Locale;
use crate::web::session::AnySession;

/// Why the person is setting up a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The account has no method yet: this one finishes sign-up (or a sign-in).
    First,
    /// A signed-in person adds another method.
    Another,
}

/// A session allowed to set up a method, and why.
#[derive(Debug, Clone)]
pub struct FactorAccess {
    pub token: SessionToken,
    pub session: Session,
    pub stage: Stage,
}

impl FromRequestParts<WebState> for FactorAccess {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let AnySession { token, session } = AnySession::from_request_parts(parts, state).await?;
        let href = |path: &str| {
            parts
                .extensions
                .get::<Locale>()
                .map_or_else(|| path.to_owned(), |l| l.href(path))
        };
        if session.is_complete() {
            let services = state
                .account_services()
                .await
                .map_err(IntoResponse::into_response)?;
            let now = state.services.clock.now_ms();
            if !session.has_recent_factor(services.sessions.policy(), now) {
                // Adding a method is sensitive: a factor again first, then back here.
                let back = parts
                    .uri
                    .path_and_query()
                    .map_or("/mfa/setup", |pq| pq.as_str());
                let to = format!("{}?return_to={}", href("/sign-in/factor"), urlencode(back));
                return Err(Redirect::to(&to).into_response());
            }
            return Ok(FactorAccess {
                token,
                session,
                stage: Stage::Another,
            });
        }
        let services = state
            .account_services()
            .await
            .map_err(IntoResponse::into_response)?;
        let account = services
            .accounts
            .account(&session.user_id)
            .await
            .map_err(|e| crate::web::WebError::from(e).into_response())?;
        match account.map(|a| a.status) {
            Some(AccountStatus::FactorPending) => Ok(FactorAccess {
                token,
                session,
                stage: Stage::First,
            }),
            // The account has a method: the password alone must not add another.
            Some(AccountStatus::Active) => {
                Err(Redirect::to(&href("/sign-in/factor")).into_response())
            }
            None => Err(Redirect::to(&href("/sign-in")).into_response()),
        }
    }
}

/// Percent-encodes a local path for a query parameter.
pub fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
