//! `POST /token` (OIDC-3): the form is read as RFC 6749 says — urlencoded, each parameter
//! once — and every refusal is its JSON error.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use http::{HeaderMap, StatusCode, header};

use super::reply::no_store;
use super::{ApiError, ApiState};
use crate::oidc::discovery::TOKEN_PATH;
use crate::oidc::request::Params;

pub fn routes() -> Router<ApiState> {
    Router::new().route(TOKEN_PATH, post(token))
}

fn bad_request(description: &'static str) -> ApiError {
    ApiError::Protocol {
        status: StatusCode::BAD_REQUEST,
        error: "invalid_request",
        description,
        challenge: None,
    }
}

/// The form's parameters, or the error for a body that is not one.
pub(super) fn form(headers: &HeaderMap, body: &[u8]) -> Result<Params, ApiError> {
    let urlencoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !urlencoded {
        return Err(bad_request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| bad_request("the body is not a valid form"))?;
    Ok(Params::new(pairs))
}

async fn token(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        // RFC 6749 5.2: header authentication gets a 401; Passerelle accepts none.
        return Err(ApiError::Protocol {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "authenticate with private_key_jwt or PKCE, not an Authorization header",
            challenge: Some("Basic"),
        });
    }
    let form = form(&headers, &body)?;
    let oidc = state.oidc().await?;
    let response = oidc.provider.exchange(&form).await?;
    let body = serde_json::to_value(&response).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(no_store(body))
}
