//! `GET /api/health`: which backend and adapters this process runs, and whether the
//! store answers. Load balancers and the local stack's smoke test read it.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;

use super::WebState;
use super::error::KeepBody;
use crate::services::Services;
use crate::store::Key;

/// Longer than a healthy store ever takes; short enough for a load balancer's check.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

pub fn routes() -> Router<WebState> {
    Router::new().route("/api/health", get(health))
}

fn backend(services: &Services) -> &'static str {
    #[cfg(feature = "embedded")]
    if services.local.is_some() {
        return "embedded";
    }
    let _ = services;
    "aws"
}

async fn health(State(state): State<WebState>) -> Response {
    let services = &state.services;
    // A read of a key nothing writes: it exercises the connection and credentials.
    let ping = tokio::time::timeout(
        PING_TIMEOUT,
        services.store.get(&Key::new("health", "ping")),
    )
    .await;
    let healthy = match ping {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "health: store ping failed");
            false
        }
        Err(_) => {
            tracing::error!("health: store ping timed out");
            false
        }
    };
    let adapters: serde_json::Map<String, serde_json::Value> = services
        .adapters()
        .into_iter()
        .map(|(port, adapter)| (port.to_owned(), adapter.into()))
        .collect();
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "degraded" },
        "backend": backend(services),
        "adapters": adapters,
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, Json(body)).into_response();
    response.extensions_mut().insert(KeepBody);
    response
}
