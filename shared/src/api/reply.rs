//! How the JSON endpoints answer: RFC 6749 error bodies with their status, `no-store` on
//! everything that carries a token, and internals kept in the logs.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::account::accounts::AccountError;
use crate::oidc::OidcError;
use crate::oidc::tokens::TokenError;

/// An error the endpoints answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A protocol error (RFC 6749 5.2 / RFC 6750 3.1).
    #[error("{error}: {description}")]
    Protocol {
        status: StatusCode,
        error: &'static str,
        description: &'static str,
        /// The `WWW-Authenticate` scheme a 401 names: `Bearer` for userinfo (RFC 6750),
        /// `Basic` when a client tried header authentication at the token endpoint.
        challenge: Option<&'static str>,
    },
    /// Ours: logged in full, answered as `server_error` (500) with nothing more.
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid_token(description: &'static str) -> Self {
        ApiError::Protocol {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_token",
            description,
            challenge: Some("Bearer"),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Protocol { error, description } => ApiError::Protocol {
                status: StatusCode::BAD_REQUEST,
                error,
                description,
                challenge: None,
            },
            TokenError::Internal(e) => e.into(),
        }
    }
}

impl From<OidcError> for ApiError {
    fn from(e: OidcError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

/// A JSON body that must not be cached (RFC 6749 5.1).
pub fn no_store(body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Protocol {
                status,
                error,
                description,
                challenge,
            } => {
                let mut response = no_store(json!({
                    "error": error,
                    "error_description": description,
                }));
                *response.status_mut() = status;
                if let Some(scheme) = challenge {
                    let value = format!(
                        "{scheme} realm=\"passerelle\", error=\"{error}\", error_description=\"{description}\""
                    );
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                    }
                }
                response
            }
            ApiError::Internal(detail) => {
                tracing::error!(error = %detail, "agency endpoint failed");
                let mut response = no_store(json!({
                    "error": "server_error",
                    "error_description": "the server could not answer; try again",
                }));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        }
    }
}
