//! What every JSON answer carries, whichever function serves it: `nosniff` and HSTS (as
//! the pages do), and an RFC 6749 JSON error in place of the framework's plain-text
//! refusals (a body over the limit, a method the endpoint does not take).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::ApiError;

/// Two years, subdomains included: the same policy as the pages (`web::headers`).
pub const HSTS: &str = "max-age=63072000; includeSubDomains";

/// Middleware on the API routers.
pub async fn api_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    if let Some(error) = protocol_error_for(&response) {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = error.into_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    let h = response.headers_mut();
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The JSON error for a refusal the framework answered in plain text (an extractor's
/// rejection); `None` for every answer a handler wrote.
fn protocol_error_for(response: &Response) -> Option<ApiError> {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let status = response.status();
    if is_json || !status.is_client_error() {
        return None;
    }
    let (status, description) = match status {
        // RFC 6749 5.2: a malformed request is a 400 `invalid_request`, whatever made it so.
        StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::BAD_REQUEST,
            "the request body is larger than this endpoint accepts",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            StatusCode::METHOD_NOT_ALLOWED,
            "this endpoint does not take that method",
        ),
        _ => (StatusCode::BAD_REQUEST, "the request could not be read"),
    };
    Some(ApiError::Protocol {
        status,
        error: "invalid_request",
        description,
        challenge: None,
    })
}
