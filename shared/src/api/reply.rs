//! How the JSON endpoints answer: RFC 6749 error bodies with their status, `no-store` on
//! everything that carries a token, and internals kept in the logs. A dependency's
//! momentary failure (the store or the key service throttled, timed out, unavailable) is
//! `temporarily_unavailable` with 503 and `Retry-After`, so an agency's client retries;
//! a permanent one is `server_error` with 500.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use crate::account::accounts::AccountError;
use crate::oidc::OidcError;
use crate::oidc::tokens::TokenError;

/// What a 503 asks the client to wait, pages and JSON alike: throttles and momentary
/// outages of DynamoDB and KMS clear in seconds, and the SDKs have already retried before
/// the error reaches us.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

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
    /// A dependency is throttling, timed out or down: logged in full, answered as
    /// `temporarily_unavailable` (503, `Retry-After`) with nothing more.
    #[error("unavailable: {0}")]
    Unavailable(String),
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

impl ApiError {
    /// A dependency's failure: 503 when it is momentary, else 500.
    fn dependency(transient: bool, detail: String) -> Self {
        if transient {
            ApiError::Unavailable(detail)
        } else {
            ApiError::Internal(detail)
        }
    }
}

impl From<OidcError> for ApiError {
    fn from(e: OidcError) -> Self {
        let transient = match &e {
            OidcError::Store(e) => e.is_transient(),
            OidcError::Sealing(e) => e.is_transient(),
            _ => false,
        };
        ApiError::dependency(transient, e.to_string())
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        use crate::account::password_hash::PasswordHashError;
        let transient = match &e {
            AccountError::Store(e) => e.is_transient(),
            AccountError::Sealing(e) | AccountError::Hash(PasswordHashError::Envelope(e)) => {
                e.is_transient()
            }
            AccountError::Hash(PasswordHashError::Pepper(e)) => e.is_transient(),
            _ => false,
        };
        ApiError::dependency(transient, e.to_string())
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::dependency(e.is_transient(), format!("store: {e}"))
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
            ApiError::Unavailable(detail) => {
                tracing::error!(status = 503, error = %detail, "agency endpoint unavailable");
                let mut response = no_store(json!({
                    "error": "temporarily_unavailable",
                    "error_description": "the service is temporarily unavailable; retry shortly",
                }));
                *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    async fn answer(e: ApiError) -> (StatusCode, Option<String>, serde_json::Value, String) {
        let response = e.into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        (
            status,
            retry_after,
            serde_json::from_str(&text).unwrap(),
            text,
        )
    }

    #[tokio::test]
    async fn a_dependency_that_clears_by_itself_is_temporarily_unavailable_and_a_refusal_a_server_error()
     {
        // Given the store throttling, and the key service timing out, behind an agency call,
        for transient in [
            ApiError::from(OidcError::Store(StoreError::Throttled)),
            ApiError::from(OidcError::Sealing(crate::envelope::EnvelopeError::Keys(
                crate::keys::KeyError::Unavailable(
                    "DependencyTimeoutException: secret-detail".into(),
                ),
            ))),
        ] {
            // when the endpoint answers, then it is RFC 6749's temporarily_unavailable, 503,
            // with when to retry and nothing of the detail;
            let (status, retry_after, body, text) = answer(transient).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(retry_after.as_deref(), Some("5"));
            assert_eq!(body["error"], "temporarily_unavailable");
            assert!(
                !text.contains("secret-detail") && !text.contains("Timeout"),
                "{text}"
            );
        }

        // and a refusal that retrying does not change is a server_error, 500, without
        // Retry-After or the detail.
        let denied = ApiError::from(OidcError::Store(StoreError::Failed(
            "AccessDeniedException: secret-detail".into(),
        )));
        let (status, retry_after, body, text) = answer(denied).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry_after, None);
        assert_eq!(body["error"], "server_error");
        assert!(
            !text.contains("secret-detail") && !text.contains("AccessDenied"),
            "{text}"
        );
    }
}
