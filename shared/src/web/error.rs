//! The one place errors become HTTP answers. Handlers return [`WebError`]; its response
//! carries only a public description, and the [`render_errors`] middleware (which knows
//! the language, the nonce and whether the caller wants JSON) turns it into a localized
//! page or `{"error", "error_description"}`. Details never reach a body: server errors
//! log them, and they must not hold personal data.
//!
//! A dependency's failure is answered by what it means for the person: the store or the
//! key service throttling, timing out or unavailable is a 503 with `Retry-After` ("try
//! again in a moment"); a refusal that retrying does not change (access denied, a
//! malformed answer or record) is a 500. Both pages show the request id.

use std::borrow::Cow;

use askama::Template;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::page::Page;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    #[error("bad request")]
    BadRequest,
    /// The CSRF check failed: missing or wrong token, or a cross-site request.
    #[error("CSRF check failed")]
    Csrf,
    #[error("forbidden")]
    Forbidden,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A rate limit: the page says when to come back, `Retry-After` says it to machines.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// An error for API callers with a protocol-defined code (OAuth's `invalid_grant` …);
    /// `description` is public. People get the generic page for `status`.
    #[error("{error}")]
    Api {
        status: StatusCode,
        error: &'static str,
        description: Cow<'static, str>,
    },
    /// A dependency is down, throttling or timed out; worth retrying shortly (503 with
    /// `Retry-After: UNAVAILABLE_RETRY_AFTER_SECS`). The detail is logged only.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure. The detail is logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

pub use crate::api::UNAVAILABLE_RETRY_AFTER_SECS;

impl WebError {
    /// A dependency's failure: its momentary state (`transient`) is worth a retry shortly,
    /// anything else is ours to fix.
    pub fn dependency(transient: bool, detail: String) -> Self {
        if transient {
            WebError::Unavailable(detail)
        } else {
            WebError::Internal(detail)
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        WebError::dependency(e.is_transient(), format!("store: {e}"))
    }
}

impl From<crate::keys::KeyError> for WebError {
    fn from(e: crate::keys::KeyError) -> Self {
        WebError::dependency(e.is_transient(), format!("key service: {e}"))
    }
}

/// Sealing or opening failed: the key service's momentary state is a 503; a malformed or
/// rejected envelope is a 500.
impl From<crate::envelope::EnvelopeError> for WebError {
    fn from(e: crate::envelope::EnvelopeError) -> Self {
        WebError::dependency(e.is_transient(), format!("sealing: {e}"))
    }
}

impl From<crate::account::password_hash::PasswordHashError> for WebError {
    fn from(e: crate::account::password_hash::PasswordHashError) -> Self {
        use crate::account::password_hash::PasswordHashError;
        match e {
            PasswordHashError::Envelope(e) => e.into(),
            // The pepper is a key-service MAC.
            PasswordHashError::Pepper(e) => e.into(),
            other => WebError::Internal(format!("password hash: {other}")),
        }
    }
}

impl From<crate::fingerprint::FingerprintError> for WebError {
    fn from(e: crate::fingerprint::FingerprintError) -> Self {
        use crate::fingerprint::FingerprintError;
        match e {
            FingerprintError::Store(e) => e.into(),
            FingerprintError::Sealing(e) => e.into(),
            FingerprintError::Malformed => WebError::Internal(format!("fingerprint: {e}")),
        }
    }
}

impl From<crate::notify::NotifyError> for WebError {
    fn from(e: crate::notify::NotifyError) -> Self {
        WebError::Unavailable(format!("notify: {e}"))
    }
}

impl From<crate::ratelimit::RateLimitError> for WebError {
    fn from(e: crate::ratelimit::RateLimitError) -> Self {
        use crate::ratelimit::RateLimitError;
        match e {
            RateLimitError::Blocked { retry_after_secs } => {
                WebError::TooManyRequests { retry_after_secs }
            }
            RateLimitError::Store(e) => e.into(),
            RateLimitError::Invalid(_) => WebError::Internal(format!("rate limit: {e}")),
        }
    }
}

/// Only what a page cannot answer itself arrives here: handlers turn the person's own
/// mistakes (email, password, link) into messages on the page first.
impl From<crate::account::accounts::AccountError> for WebError {
    fn from(e: crate::account::accounts::AccountError) -> Self {
        use crate::account::accounts::AccountError;
        match e {
            AccountError::Store(e) => e.into(),
            AccountError::Sealing(e) => e.into(),
            AccountError::Hash(e) => e.into(),
            AccountError::Fingerprint(e) => e.into(),
            AccountError::Identity(e) => e.into(),
            AccountError::Email(_)
            | AccountError::Password(_)
            | AccountError::InvalidCredentials
            | AccountError::LinkInvalid
            | AccountError::EmailTaken => WebError::BadRequest,
            other => WebError::Internal(format!("accounts: {other}")),
        }
    }
}

/// Only infrastructure failures arrive here: pages turn wrong codes, bad names and
/// limits into messages first.
impl From<crate::mfa::MfaError> for WebError {
    fn from(e: crate::mfa::MfaError) -> Self {
        use crate::mfa::MfaError;
        match e {
            MfaError::Store(e) => e.into(),
            MfaError::Sealing(e) => e.into(),
            MfaError::NotFound => WebError::NotFound,
            other => WebError::Internal(format!("factors: {other}")),
        }
    }
}

impl From<crate::session::remember::RememberError> for WebError {
    fn from(e: crate::session::remember::RememberError) -> Self {
        use crate::session::remember::RememberError;
        match e {
            RememberError::Store(e) => e.into(),
            RememberError::Sealing(e) => e.into(),
        }
    }
}

impl From<crate::oidc::OidcError> for WebError {
    fn from(e: crate::oidc::OidcError) -> Self {
        match e {
            crate::oidc::OidcError::Store(e) => e.into(),
            crate::oidc::OidcError::Sealing(e) => e.into(),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<crate::session::SessionError> for WebError {
    fn from(e: crate::session::SessionError) -> Self {
        match e {
            crate::session::SessionError::Store(e) => e.into(),
            other => WebError::Internal(format!("sessions: {other}")),
        }
    }
}

/// Queuing a mail or text: the queue failing is worth a retry; sealing it follows the key
/// service's error.
impl From<crate::notify::job::JobError> for WebError {
    fn from(e: crate::notify::job::JobError) -> Self {
        use crate::notify::job::JobError;
        match e {
            JobError::Sealing(e) => e.into(),
            JobError::Malformed => WebError::Internal(format!("notify job: {e}")),
            other => WebError::Unavailable(format!("notify job: {other}")),
        }
    }
}

impl From<super::mail::MailError> for WebError {
    fn from(e: super::mail::MailError) -> Self {
        WebError::Internal(format!("mail: {e}"))
    }
}

/// What may be shown about an error: the status, a machine code, the English description
/// for JSON, and the message ids of the page. Travels as a response extension from
/// [`WebError::into_response`] to [`render_errors`].
#[derive(Debug, Clone)]
pub struct PublicError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub description: Cow<'static, str>,
    /// The page's heading and explanation, as Fluent ids.
    pub title_id: &'static str,
    pub body_id: &'static str,
    pub retry_after_secs: Option<u64>,
}

impl PublicError {
    fn new(
        status: StatusCode,
        code: &'static str,
        description: &'static str,
        title_id: &'static str,
        body_id: &'static str,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            description: description.into(),
            title_id,
            body_id,
            retry_after_secs: None,
        }
    }

    /// The generic description of a status, for errors that did not come from a
    /// [`WebError`] (axum's own 405, a body-limit 413 …).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => WebError::NotFound.public(),
            StatusCode::FORBIDDEN => WebError::Forbidden.public(),
            StatusCode::METHOD_NOT_ALLOWED => WebError::MethodNotAllowed.public(),
            StatusCode::PAYLOAD_TOO_LARGE => WebError::PayloadTooLarge.public(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => WebError::UnsupportedMediaType.public(),
            StatusCode::TOO_MANY_REQUESTS => WebError::TooManyRequests {
                retry_after_secs: 60,
            }
            .public(),
            StatusCode::SERVICE_UNAVAILABLE => WebError::Unavailable(String::new()).public(),
            s if s.is_client_error() => WebError::BadRequest.public(),
            _ => WebError::Internal(String::new()).public(),
        }
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        self.public().status
    }

    /// The part of the error that may be shown.
    pub fn public(&self) -> PublicError {
        use StatusCode as S;
        match self {
            WebError::NotFound => PublicError::new(
                S::NOT_FOUND,
                "not_found",
                "The requested resource does not exist.",
                "error-not-found-title",
                "error-not-found-body",
            ),
            WebError::BadRequest => PublicError::new(
                S::BAD_REQUEST,
                "invalid_request",
                "The request is malformed.",
                "error-bad-request-title",
                "error-bad-request-body",
            ),
            WebError::Csrf => PublicError::new(
                S::FORBIDDEN,
                "csrf_failed",
                "The request did not come from this site's own form, or the form expired.",
                "error-csrf-title",
                "error-csrf-body",
            ),
            WebError::Forbidden => PublicError::new(
                S::FORBIDDEN,
                "forbidden",
                "The request is not allowed.",
                "error-forbidden-title",
                "error-forbidden-body",
            ),
            WebError::MethodNotAllowed => PublicError::new(
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This method is not allowed here.",
                "error-bad-request-title",
                "error-bad-request-body",
            ),
            WebError::PayloadTooLarge => PublicError::new(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "The request body is too large.",
                "error-too-large-title",
                "error-too-large-body",
            ),
            WebError::UnsupportedMediaType => PublicError::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The request body has an unsupported type.",
                "error-bad-request-title",
                "error-bad-request-body",
            ),
            WebError::TooManyRequests { retry_after_secs } => PublicError {
                retry_after_secs: Some(*retry_after_secs),
                ..PublicError::new(
                    S::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "Too many attempts; retry later.",
                    "error-rate-limited-title",
                    "error-rate-limited-body",
                )
            },
            WebError::Api {
                status,
                error,
                description,
            } => {
                let page = PublicError::for_status(*status);
                PublicError {
                    status: *status,
                    code: Cow::Borrowed(error),
                    description: description.clone(),
                    ..page
                }
            }
            WebError::Unavailable(_) => PublicError {
                retry_after_secs: Some(UNAVAILABLE_RETRY_AFTER_SECS),
                ..PublicError::new(
                    S::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "The service is temporarily unavailable; retry shortly.",
                    "error-unavailable-title",
                    "error-unavailable-body",
                )
            },
            WebError::Internal(_) => PublicError::new(
                S::INTERNAL_SERVER_ERROR,
                "server_error",
                "An unexpected error occurred.",
                "error-internal-title",
                "error-internal-body",
            ),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let public = self.public();
        if let WebError::Unavailable(detail) | WebError::Internal(detail) = &self {
            tracing::error!(status = public.status.as_u16(), detail = %detail, "request failed");
        }
        // A plain body in case nothing renders it (a handler used outside the router);
        // `render_errors` replaces it.
        let mut response = (public.status, public.description.to_string()).into_response();
        response.extensions_mut().insert(public);
        response
    }
}

/// A response extension telling [`render_errors`] that this error response already has
/// the body it should have (a health check's 503 JSON), so it is left alone.
#[derive(Debug, Clone, Copy)]
pub struct KeepBody;

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate<'a> {
    page: &'a Page,
    title: String,
    body: String,
    status: u16,
    /// On a 5xx page, the id the logs know this request by, for the person to quote.
    request_id: Option<String>,
}

/// Whether the caller wants JSON: an `/api/` path, or an `Accept` asking for JSON and
/// not for HTML.
fn wants_json(req: &Request) -> bool {
    if req.uri().path().starts_with("/api/") {
        return true;
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accept.contains("application/json") && !accept.contains("text/html")
}

/// Middleware, inside locale, nonce and CSRF token: renders every error response, ours
/// or the framework's (whose bodies would otherwise leak parser messages).
pub async fn render_errors(req: Request, next: Next) -> Response {
    let json = wants_json(&req);
    let page = Page::from_head(req.uri(), req.extensions());
    let request_id = req
        .extensions()
        .get::<super::RequestId>()
        .map(|id| id.0.clone());
    let response = next.run(req).await;
    let status = response.status();
    let is_error = status.is_client_error() || status.is_server_error();
    if !is_error || response.extensions().get::<KeepBody>().is_some() {
        return response;
    }
    let public = response
        .extensions()
        .get::<PublicError>()
        .cloned()
        .unwrap_or_else(|| PublicError::for_status(status));
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(secs) = public.retry_after_secs {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    let body = if json {
        axum::Json(serde_json::json!({
            "error": public.code,
            "error_description": public.description,
        }))
        .into_response()
    } else {
        page.and_then(|page| error_page(&page, &public, request_id))
            .unwrap_or_else(|| public.description.to_string().into_response())
    };
    let (body_parts, body) = body.into_parts();
    parts.headers.extend(body_parts.headers);
    Response::from_parts(parts, body)
}

fn error_page(page: &Page, public: &PublicError, request_id: Option<String>) -> Option<Response> {
    let body = match public.retry_after_secs {
        Some(secs) => page.t_args(public.body_id, &[("minutes", secs.div_ceil(60).into())]),
        None => page.t(public.body_id),
    };
    let template = ErrorTemplate {
        page,
        title: page.t(public.title_id),
        body,
        status: public.status.as_u16(),
        request_id: request_id.filter(|_| public.status.is_server_error()),
    };
    match template.render() {
        Ok(html) => Some(Html(html).into_response()),
        Err(e) => {
            tracing::error!(error = %e, "the error page failed to render");
            None
        }
    }
}

/// The router's fallback: every unknown path.
pub async fn not_found() -> WebError {
    WebError::NotFound
}
