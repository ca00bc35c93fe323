//! `/.well-known/openid-configuration` and `/jwks`: public, cacheable, open to any origin
//! (browser-based agency code reads them too).

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use http::{HeaderValue, header};

use super::{ApiError, ApiState};
use crate::oidc::discovery::{DISCOVERY_PATH, JWKS_PATH, metadata};
use crate::oidc::signing::REFRESH_SECS;

pub fn routes() -> Router<ApiState> {
    Router::new()
        .route(DISCOVERY_PATH, get(configuration))
        .route(JWKS_PATH, get(jwks))
}

fn public(mut response: Response, max_age: i64) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    response
}

async fn configuration(State(state): State<ApiState>) -> Response {
    public(Json(metadata(&state.issuer)).into_response(), 3600)
}

/// Cached no longer than a process keeps its keys, so a rotation's new key is seen in time.
async fn jwks(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let oidc = state.oidc().await?;
    let jwks = oidc.provider.keys.jwks().await?;
    Ok(public(
        Json(jwks.as_ref().clone()).into_response(),
        REFRESH_SECS,
    ))
}
