//! Request ids and access logs: every request runs in a `request{id=…}` span, ends with
//! one log line (method, matched route, status, latency) and echoes `x-request-id`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::HeaderValue;
use tracing::Instrument;

use super::WebState;
use crate::random::RandomExt;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The request's id. The Lambda wiring inserts one from the invocation context; the
/// middleware uses it when the client sent no usable `x-request-id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The route pattern the router matched (`/language`, never the raw path, which may hold
/// tokens), carried out on the response for the access log. Public so that the template
/// check (`infra/template-check`) can tell a routed answer from the fallback's 404.
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub String);

/// Ids end up in logs and response headers: a short, plain alphabet keeps a forged one
/// from injecting log lines or odd bytes.
pub fn is_well_formed(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Middleware, outermost.
pub async fn request_id(State(state): State<WebState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let from_header = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_well_formed(v))
        .map(str::to_owned);
    let id = from_header
        .or_else(|| {
            req.extensions()
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .filter(|v| is_well_formed(v))
        })
        .unwrap_or_else(|| state.services.random.token(16));
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let span = tracing::info_span!("request", id = %id);
    let mut response = next.run(req).instrument(span.clone()).await;
    let route = response
        .extensions()
        .get::<MatchedRoute>()
        .map_or("-", |r| r.0.as_str());
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    span.in_scope(|| {
        tracing::info!(%method, route, status, latency_ms, "request");
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    response
}

/// Middleware on the inner router, where routing has happened: copies the matched route
/// onto the response so [`request_id`], outside the router, can log it.
pub(crate) async fn record_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| MatchedRoute(p.as_str().to_owned()));
    let mut response = next.run(req).await;
    if let Some(route) = route {
        response.extensions_mut().insert(route);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_and_plain() {
        assert!(is_well_formed("3f1c9a2e-1b7d-4c0e-9a51-2d7f0e8b6c41"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("a b"));
        assert!(!is_well_formed("id\nforged"));
        assert!(!is_well_formed(&"x".repeat(129)));
    }
}
