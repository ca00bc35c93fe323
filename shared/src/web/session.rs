//! The browser's side of sessions (ACC-3): the `__Host-session` cookie, the extractors
//! that let a handler require a signed-in person, sign-out, and the idle-timeout warning.
//!
//! A handler that takes [`SignedIn`] only runs for a complete session (password and
//! factor); [`PendingSignIn`] is the password stage, which only the factor step and
//! factor set-up accept. Without a live session the person is sent to sign in; when the
//! browser still holds a cookie, the sign-in page says the session ended, which is all
//! a browser without JavaScript learns of the idle timeout.

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;

use super::WebState;
use super::cookies::{self, Lifetime, SameSite};
use super::csrf::CsrfForm;
use super::error::WebError;
use super::forms::MessagePage;
use super::language::local_path;
use super::locale::Locale;
use super::page::{Page, render};
use crate::session::{Session, SessionPolicy, SessionToken};

/// The cookie's name without its `__Host-` prefix.
pub const SESSION_COOKIE: &str = "session";

/// A complete session: the person signed in with password and factor.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: SessionToken,
    pub session: Session,
}

impl SignedIn {
    /// `page` as this signed-in person's: with the idle-timeout warning's timings.
    pub fn page(&self, state: &WebState, page: Page) -> Page {
        let now = state.services.clock.now_ms();
        page.signed_in(SessionTimeout::of(
            &self.session,
            &state.session_policy,
            now,
        ))
    }
}

/// The password stage of a sign-in (or the end of sign-up): only the factor step and
/// factor set-up take it.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub token: SessionToken,
    pub session: Session,
}

/// What the idle-timeout warning needs, rendered into signed-in pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimeout {
    /// Seconds from page load until the warning shows.
    pub warn_after_secs: i64,
    /// Seconds from page load until the session ends if nothing happens.
    pub expires_after_secs: i64,
    /// The idle timeout, for the warning's wording (rounded up).
    pub idle_minutes: i64,
}

impl SessionTimeout {
    pub fn of(session: &Session, policy: &SessionPolicy, now_ms: i64) -> Self {
        let left = (session.idle_deadline_ms(policy) - now_ms)
            .div_euclid(1000)
            .max(0);
        Self {
            warn_after_secs: (left - policy.warn_before_secs).max(0),
            expires_after_secs: left,
            idle_minutes: (policy.idle_secs + 59) / 60,
        }
    }
}

/// The session cookie for `token`: Lax so that arriving from an agency's site (a
/// top-level GET) still finds the person signed in; it lives as long as the browser
/// session, the server enforcing the real timeouts.
pub fn session_cookie(token: &SessionToken) -> Result<HeaderValue, WebError> {
    cookies::host_cookie(
        SESSION_COOKIE,
        token.as_str(),
        Lifetime::Session,
        SameSite::Lax,
    )
    .ok_or_else(|| WebError::Internal("session cookie".into()))
}

/// A cookie that makes the browser forget its session token.
pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// A 303 to `path` (in the request's language), setting `cookie`.
pub fn see_other_with(location: &str, cookie: HeaderValue) -> Response {
    let mut response = Redirect::to(location).into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// The browser's session token, if it sent a well-formed one.
pub fn token_of(headers: &HeaderMap) -> Option<SessionToken> {
    cookies::get(headers, &format!("__Host-{SESSION_COOKIE}")).and_then(SessionToken::parse)
}

/// The live session behind the request's cookie, and whether a cookie was sent at all.
async fn current(
    parts: &Parts,
    state: &WebState,
) -> Result<(bool, Option<(SessionToken, Session)>), WebError> {
    let sent = cookies::get(&parts.headers, &format!("__Host-{SESSION_COOKIE}")).is_some();
    let Some(token) = token_of(&parts.headers) else {
        return Ok((sent, None));
    };
    let sessions = &state.account_services().await?.sessions;
    Ok((sent, sessions.resume(&token).await?.map(|s| (token, s))))
}

/// Off to sign in; "your session ended" when the browser thought it had one.
fn to_sign_in(parts: &Parts, had_cookie: bool) -> Response {
    let locale = parts
        .extensions
        .get::<Locale>()
        .copied()
        .unwrap_or(Locale::new(super::Lang::En));
    if had_cookie {
        see_other_with(&locale.href("/sign-in?ended=1"), clear_session_cookie())
    } else {
        Redirect::to(&locale.href("/sign-in")).into_response()
    }
}

impl FromRequestParts<WebState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        match current(parts, state).await {
            Ok((_, Some((token, session)))) if session.is_complete() => {
                Ok(SignedIn { token, session })
            }
            // Half-way through signing in: finish the factor step first.
            Ok((_, Some(_))) => Err(Redirect::to(&href(parts, "/sign-in/factor")).into_response()),
            Ok((sent, None)) => Err(to_sign_in(parts, sent)),
            Err(e) => Err(e.into_response()),
        }
    }
}

impl FromRequestParts<WebState> for PendingSignIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        match current(parts, state).await {
            Ok((_, Some((token, session)))) if !session.is_complete() => {
                Ok(PendingSignIn { token, session })
            }
            Ok((_, Some(_))) => Err(Redirect::to(&href(parts, "/account")).into_response()),
            Ok((sent, None)) => Err(to_sign_in(parts, sent)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// Any live session, pending or complete: the factor step takes both (finishing a
/// sign-in, or asking a signed-in person for a factor again before a sensitive action).
#[derive(Debug, Clone)]
pub struct AnySession {
    pub token: SessionToken,
    pub session: Session,
}

impl FromRequestParts<WebState> for AnySession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        match current(parts, state).await {
            Ok((_, Some((token, session)))) => Ok(AnySession { token, session }),
            Ok((sent, None)) => Err(to_sign_in(parts, sent)),
            Err(e) => Err(e.into_response()),
        }
    }
}

fn href(parts: &Parts, path: &str) -> String {
    parts
        .extensions
        .get::<Locale>()
        .map_or_else(|| path.to_owned(), |l| l.href(path))
}

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/sign-out", post(sign_out))
        .route("/session/keep-alive", post(keep_alive))
        .route("/session/timeout", get(timeout_page).post(time_out))
}

#[derive(Debug, Deserialize)]
struct ReturnTo {
    /// Where a browser without JavaScript goes back to: a local path, else `/account`.
    #[serde(default)]
    return_to: String,
}

/// Signs this browser out (the session ends on the server, not only the cookie).
async fn sign_out(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<ReturnTo>,
) -> Result<Response, WebError> {
    if let Some(token) = token_of(&headers) {
        state.account_services().await?.sessions.end(&token).await?;
    }
    Ok(see_other_with(
        &page.href("/sign-in?signed_out=1"),
        clear_session_cookie(),
    ))
}

/// "Stay signed in" in the timeout warning: resuming the session pushes the idle
/// deadline back. The script gets 204; a form post without script goes back.
async fn keep_alive(
    signed_in: SignedIn,
    page: Page,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<ReturnTo>,
) -> Result<Response, WebError> {
    // `resume` in the extractor did the work; this only answers.
    let _ = signed_in;
    let navigating = headers
        .get("sec-fetch-mode")
        .is_none_or(|v| v.as_bytes() == b"navigate");
    if navigating {
        let to = if form.return_to.is_empty() {
            "/account"
        } else {
            local_path(&form.return_to)
        };
        Ok(Redirect::to(&page.href(to)).into_response())
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

/// The confirmation a link to `/session/timeout` gets while the session is alive: a
/// link (from another site, say) must not sign anyone out.
#[derive(Template)]
#[template(path = "session_confirm_sign_out.html")]
struct ConfirmSignOut {
    page: Page,
}

/// `GET /session/timeout` ends nothing: a cookie sent with a cross-site link is not the
/// person asking. With a live session it asks whether to sign out (the button posts
/// `/sign-out` with the CSRF token); without one it says the session ended.
async fn timeout_page(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let live = match token_of(&headers) {
        Some(token) => state
            .account_services()
            .await?
            .sessions
            .resume(&token)
            .await?
            .is_some(),
        None => false,
    };
    if live {
        return render(&ConfirmSignOut { page });
    }
    timed_out_page(page)
}

/// `POST /session/timeout`, what the warning's script submits when time is up (with the
/// CSRF token, like every form): the session ends, if the server had not already ended
/// it, and the page says why.
async fn time_out(
    State(state): State<WebState>,
    page: Page,
    headers: HeaderMap,
    CsrfForm(_): CsrfForm<ReturnTo>,
) -> Result<Response, WebError> {
    if let Some(token) = token_of(&headers) {
        state.account_services().await?.sessions.end(&token).await?;
    }
    page.rotate_csrf();
    let mut response = timed_out_page(page)?;
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_session_cookie());
    Ok(response)
}

fn timed_out_page(page: Page) -> Result<Response, WebError> {
    let body = page.t("session-timed-out-body");
    MessagePage::render(
        page,
        "session-timed-out-title",
        vec![body],
        Some(("/sign-in", "nav-sign-in")),
    )
}
