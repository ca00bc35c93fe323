//! Security headers on every response, and the per-response CSP nonce that templates put
//! on their `<script>` tags.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::request::Parts;
use http::{HeaderValue, header};

use super::WebState;
use super::error::WebError;
use crate::random::RandomExt;

/// This response's CSP nonce (base64url, 128 bits); an extension and an extractor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CspNonce {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CspNonce>()
            .cloned()
            .ok_or(WebError::Internal(
                "the security headers middleware is not installed".into(),
            ))
    }
}

/// Browser features no page uses yet are switched off. WebAuthn stays allowed for this
/// origin (MFA-1); a page that needs more (the camera for document capture) sets its
/// own `Permissions-Policy`, which this middleware then leaves alone.
const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), browsing-topics=(), camera=(), \
    display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), \
    midi=(), payment=(), usb=(), publickey-credentials-create=(self), \
    publickey-credentials-get=(self)";

/// `same-origin`: our own navigations keep their full referrer, nothing at all is sent to
/// other sites (agency pages must not learn our paths, which may hold tokens). Not
/// `no-referrer`: under it browsers send `Origin: null` on our own form posts, which
/// would defeat the Origin check CSRF protection relies on. Stricter towards other sites
/// than `strict-origin-when-cross-origin`, which still leaks our origin.
const REFERRER_POLICY: &str = "same-origin";

fn csp(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; form-action 'self'; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

/// Middleware: draws the nonce before the handler runs, then sets the headers.
pub async fn security_headers(
    State(state): State<WebState>,
    mut req: Request,
    next: Next,
) -> Response {
    let nonce = state.services.random.token(16);
    req.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(crate::api::headers::HSTS),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static(REFERRER_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key("permissions-policy") {
        headers.insert(
            "permissions-policy",
            HeaderValue::from_static(PERMISSIONS_POLICY),
        );
    }
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // Pages may show personal data: never keep them in a shared or back-forward cache.
    // Other answers keep what their handler chose (static assets are immutable).
    if is_html || !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
