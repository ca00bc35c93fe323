//! Cross-site request forgery protection for every form, by construction.
//!
//! A `__Host-csrf` cookie (Secure, HttpOnly, SameSite=Strict) holds a random token; each
//! form carries it masked with fresh randomness (so the page bytes differ on every
//! response and compression side channels such as BREACH learn nothing). The [`guard`]
//! middleware checks every unsafe request to a page before any handler runs: cross-site
//! `Sec-Fetch-Site` or a foreign `Origin` is refused, then the submitted token must match
//! the cookie, compared in constant time. Machine endpoints under `/api/` (token
//! endpoint, vendor callbacks) are exempt: they must not rely on cookies.
//!
//! The token changes with the session's privilege: every response that sets or clears
//! the session cookie (password step, sign-in, sign-out, timeout) also sets a new token,
//! as does a factor asked again ([`CsrfToken::rotate`]), so a token seen before a sign-in
//! is refused after it. A handler that renders a page while doing so rotates first, so
//! the page's own forms carry the new token.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Method, header};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::WebState;
use super::cookies::{self, Lifetime, SameSite};
use super::error::WebError;
use crate::random::{Random, RandomExt};

/// The cookie's name without its `__Host-` prefix.
pub const CSRF_COOKIE: &str = "csrf";
/// The hidden form field carrying the masked token.
pub const CSRF_FIELD: &str = "csrf_token";
/// The header a script sends the masked token in, for `fetch` calls.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Forms are small; anything bigger is refused before it is buffered.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

const TOKEN_BYTES: usize = 32;

/// This browser's CSRF token: an extension every request carries once the site router
/// has seen it. [`CsrfToken::form_value`] gives the value for a form's hidden field;
/// using it makes the middleware set the cookie when the browser did not send one.
#[derive(Clone)]
pub struct CsrfToken(Arc<Inner>);

struct Inner {
    secret: Mutex<[u8; TOKEN_BYTES]>,
    from_cookie: bool,
    used: AtomicBool,
    /// A new secret was drawn during this request: the cookie must be set.
    rotated: AtomicBool,
    random: Arc<dyn Random>,
}

// The secret stays out of logs and panics.
impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfToken")
            .field("from_cookie", &self.0.from_cookie)
            .finish_non_exhaustive()
    }
}

impl CsrfToken {
    fn new(secret: [u8; TOKEN_BYTES], from_cookie: bool, random: Arc<dyn Random>) -> Self {
        Self(Arc::new(Inner {
            secret: Mutex::new(secret),
            from_cookie,
            used: AtomicBool::new(false),
            rotated: AtomicBool::new(false),
            random,
        }))
    }

    fn secret(&self) -> [u8; TOKEN_BYTES] {
        *self.0.secret.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Draws a new token for this browser: forms rendered after this call carry it, the
    /// response sets it, and every value given out before is refused from then on.
    pub fn rotate(&self) {
        let fresh: [u8; TOKEN_BYTES] = self.0.random.array();
        *self.0.secret.lock().unwrap_or_else(PoisonError::into_inner) = fresh;
        self.0.rotated.store(true, Ordering::Relaxed);
    }

    fn rotated(&self) -> bool {
        self.0.rotated.load(Ordering::Relaxed)
    }

    /// The value for the hidden `csrf_token` field (or the `x-csrf-token` header): the
    /// token XORed with a fresh mask, mask first, base64url.
    pub fn form_value(&self) -> String {
        self.0.used.store(true, Ordering::Relaxed);
        let mask: [u8; TOKEN_BYTES] = self.0.random.array();
        let mut out = Vec::with_capacity(2 * TOKEN_BYTES);
        out.extend_from_slice(&mask);
        out.extend(self.secret().iter().zip(mask).map(|(s, m)| s ^ m));
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Whether `submitted` (a [`form_value`](Self::form_value)) carries this token.
    pub fn verify(&self, submitted: &str) -> bool {
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(submitted.trim()) else {
            return false;
        };
        if bytes.len() != 2 * TOKEN_BYTES {
            return false;
        }
        let (mask, masked) = bytes.split_at(TOKEN_BYTES);
        let unmasked: Vec<u8> = masked.iter().zip(mask).map(|(x, m)| x ^ m).collect();
        bool::from(unmasked.ct_eq(&self.secret()))
    }
}

/// Marks a request whose CSRF check passed; [`CsrfForm`] insists on it.
#[derive(Debug, Clone, Copy)]
pub struct CsrfVerified;

/// Middleware: reads the token from the cookie or draws a new one, and sets the cookie
/// on the way out when a new token was put in a form.
pub async fn issue(State(state): State<WebState>, mut req: Request, next: Next) -> Response {
    let random = Arc::clone(&state.services.random);
    let from_cookie = cookies::get(req.headers(), &format!("__Host-{CSRF_COOKIE}"))
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|b| <[u8; TOKEN_BYTES]>::try_from(b).ok());
    let token = match from_cookie {
        Some(secret) => CsrfToken::new(secret, true, random),
        None => CsrfToken::new(random.array(), false, random),
    };
    req.extensions_mut().insert(token.clone());
    let mut response = next.run(req).await;
    // The session's privilege changed (its cookie set or cleared): a new token, unless the
    // handler already drew one for the page it rendered.
    if changes_session(&response) && !token.rotated() {
        token.rotate();
    }
    if token.rotated() || (!token.0.from_cookie && token.0.used.load(Ordering::Relaxed)) {
        let value = URL_SAFE_NO_PAD.encode(token.secret());
        if let Some(cookie) =
            cookies::host_cookie(CSRF_COOKIE, &value, Lifetime::Session, SameSite::Strict)
        {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// Whether `response` sets or clears the session cookie.
fn changes_session(response: &Response) -> bool {
    let prefix = format!("__Host-{}=", super::session::SESSION_COOKIE);
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(prefix.as_bytes()))
}

/// `scheme://host[:port]` of a base URL, the way browsers write `Origin` (no default port).
fn origin_of(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://").unwrap_or(("", lower.as_str()));
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = match scheme {
        "https" => authority.strip_suffix(":443").unwrap_or(authority),
        "http" => authority.strip_suffix(":80").unwrap_or(authority),
        _ => authority,
    };
    format!("{scheme}://{authority}")
}

/// Whether the browser says this request comes from our own pages. `Sec-Fetch-Site`
/// `same-site` is refused too: a sibling subdomain may belong to someone else.
pub fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return false;
    }
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => true,
        Some(Ok(origin)) => origin.eq_ignore_ascii_case(&origin_of(public_url)),
        Some(Err(_)) => false,
    }
}

/// Multipart uploads whose handler checks the token itself, from the form's first field
/// (`crate::web::verify`'s document photos): the body is too large to buffer here. The
/// guard still refuses a foreign origin and a browser without the cookie.
pub const MULTIPART_PATHS: &[&str] = &["/verify/document"];

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

#[derive(serde::Deserialize)]
struct Field {
    csrf_token: Option<String>,
}

/// Middleware, after routing by language: every POST, PUT, PATCH or DELETE outside
/// `/api/` must come from our origin and carry the token, or it gets a 403 page.
pub async fn guard(State(state): State<WebState>, req: Request, next: Next) -> Response {
    match check(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => axum::response::IntoResponse::into_response(e),
    }
}

async fn check(state: &WebState, req: Request) -> Result<Request, WebError> {
    let safe = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    // POST /authorize is the agency's cross-site form post of an authorization request
    // (OIDC Core 3.1.2.1): it only starts a sign-in, exactly like the GET.
    if safe || req.uri().path().starts_with("/api/") || req.uri().path() == "/authorize" {
        return Ok(req);
    }
    if !same_origin(req.headers(), &state.public_url) {
        return Err(WebError::Csrf);
    }
    let token = req
        .extensions()
        .get::<CsrfToken>()
        .cloned()
        .filter(|t| t.0.from_cookie)
        .ok_or(WebError::Csrf)?;
    let header_value = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (mut parts, body) = req.into_parts();
    let (submitted, body) = match header_value {
        Some(v) => (Some(v), body),
        None if is_form(&parts.headers) => {
            let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| WebError::PayloadTooLarge)?;
            let field = serde_urlencoded::from_bytes::<Field>(&bytes)
                .ok()
                .and_then(|f| f.csrf_token);
            (field, Body::from(bytes))
        }
        None if is_multipart(&parts.headers) && MULTIPART_PATHS.contains(&parts.uri.path()) => {
            // Not verified here: the handler reads the token before anything else.
            return Ok(Request::from_parts(parts, body));
        }
        None => (None, body),
    };
    if !submitted.is_some_and(|s| token.verify(&s)) {
        return Err(WebError::Csrf);
    }
    parts.extensions.insert(CsrfVerified);
    Ok(Request::from_parts(parts, body))
}

/// A form body whose CSRF check passed: the extractor every form handler takes instead of
/// `axum::Form`. Unknown fields (the `csrf_token` itself) are ignored, so `T` lists only
/// what the handler needs. Without the check (a request that did not pass the [`guard`])
/// it fails closed with the 403 page.
#[derive(Debug, Clone)]
pub struct CsrfForm<T>(pub T);

impl<T, S> FromRequest<S> for CsrfForm<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        if req.extensions().get::<CsrfVerified>().is_none() {
            return Err(WebError::Csrf);
        }
        if !is_form(req.headers()) {
            return Err(WebError::UnsupportedMediaType);
        }
        let bytes: Bytes = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
            .await
            .map_err(|_| WebError::PayloadTooLarge)?;
        // serde_urlencoded decodes invalid UTF-8 lossily: a password would silently become
        // another one. Refuse such a body instead (400 page).
        if !percent_decodes_to_utf8(&bytes) {
            return Err(WebError::BadRequest);
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|_| WebError::BadRequest)
    }
}

/// Whether every name and value of a urlencoded body is UTF-8 once `%XX` and `+` are
/// decoded.
fn percent_decodes_to_utf8(body: &[u8]) -> bool {
    fn hex(b: u8) -> Option<u8> {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    body.split(|&b| b == b'&').all(|pair| {
        let mut out = Vec::with_capacity(pair.len());
        let mut i = 0;
        while i < pair.len() {
            match pair[i] {
                b'%' => match (
                    pair.get(i + 1).and_then(|&b| hex(b)),
                    pair.get(i + 2).and_then(|&b| hex(b)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                        continue;
                    }
                    // A lone `%` stays as it is, as form_urlencoded leaves it.
                    _ => out.push(b'%'),
                },
                b'+' => out.push(b' '),
                b => out.push(b),
            }
            i += 1;
        }
        // `=` is ASCII, so checking the whole pair checks name and value.
        std::str::from_utf8(&out).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use http::HeaderValue;

    fn token(from_cookie: bool) -> CsrfToken {
        let random: Arc<dyn Random> = Arc::new(SeededRandom::new(7));
        CsrfToken::new(random.array(), from_cookie, random)
    }

    #[test]
    fn masked_values_differ_and_verify() {
        let t = token(true);
        let (a, b) = (t.form_value(), t.form_value());
        assert_ne!(a, b);
        assert!(t.verify(&a) && t.verify(&b));
        assert!(!token(true).verify(""));
        assert!(!t.verify(&URL_SAFE_NO_PAD.encode([0u8; 64])));
        assert!(!t.verify(&URL_SAFE_NO_PAD.encode(t.secret())));
    }

    #[test]
    fn a_rotated_token_refuses_what_was_given_out_before() {
        let t = token(true);
        let before = t.form_value();
        t.rotate();
        assert!(!t.verify(&before));
        assert!(t.verify(&t.form_value()));
        assert!(t.rotated());
    }

    #[test]
    fn invalid_utf8_in_a_form_is_detected() {
        assert!(percent_decodes_to_utf8(
            b"email=a%40b.gov&password=caf%C3%A9+x"
        ));
        assert!(percent_decodes_to_utf8(b"x=100%"));
        assert!(!percent_decodes_to_utf8(b"password=%FF%FE"));
        assert!(!percent_decodes_to_utf8(&[b'a', b'=', 0xFF]));
    }

    #[test]
    fn origins_compare_like_browsers_write_them() {
        assert_eq!(
            origin_of("https://id.example.gov:443/prod"),
            "https://id.example.gov"
        );
        assert_eq!(origin_of("http://localhost:3000"), "http://localhost:3000");
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "http://localhost:3000"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://localhost:3000"),
        );
        assert!(same_origin(&h, "http://localhost:3000"));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h, "http://localhost:3000"));
        h.remove(header::ORIGIN);
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h, "http://localhost:3000"));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&h, "http://localhost:3000"));
    }
}
