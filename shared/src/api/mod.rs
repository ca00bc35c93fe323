//! The JSON endpoints agencies call: discovery, JWKS, token and userinfo. Axum only — no
//! templates, cookies or CSRF — so the `token` function stays small; the site mounts the
//! same router beside its pages.

mod discovery;
pub mod headers;
mod reply;
mod token;
mod userinfo;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn;
use tokio::sync::OnceCell;

use crate::account::accounts::{AccountError, Accounts};
use crate::account::password_hash::HashParams;
use crate::oidc::tokens::Provider;
use crate::services::Services;

pub use reply::{ApiError, UNAVAILABLE_RETRY_AFTER_SECS};

/// Largest request body accepted (a token request is well under 4 KiB).
const MAX_BODY_BYTES: usize = 16 * 1024;

/// What the endpoints work with: the provider and the account reads behind userinfo,
/// built on first use (they need the deployment's fingerprint key, loaded through the
/// store and key service).
#[derive(Debug, Clone)]
pub struct ApiState {
    pub services: Arc<Services>,
    /// The issuer: the public URL, without trailing slash.
    pub issuer: String,
    cell: Arc<OnceCell<OidcServices>>,
}

#[derive(Debug)]
pub struct OidcServices {
    pub provider: Provider,
    pub accounts: Accounts,
}

impl ApiState {
    pub fn new(services: Arc<Services>, issuer: impl Into<String>) -> Self {
        Self {
            services,
            issuer: issuer.into(),
            cell: Arc::new(OnceCell::new()),
        }
    }

    /// The provider and accounts (built on the first call; a failure is retried next time).
    pub async fn oidc(&self) -> Result<&OidcServices, AccountError> {
        self.cell
            .get_or_try_init(|| async {
                let s = &self.services;
                let accounts = Accounts::new(
                    Arc::clone(&s.store),
                    Arc::clone(&s.envelope),
                    Arc::clone(&s.clock),
                    Arc::clone(&s.random),
                    HashParams::default(),
                )
                .await?;
                let provider = Provider::new(
                    self.issuer.clone(),
                    Arc::clone(&s.store),
                    Arc::clone(&s.envelope),
                    Arc::clone(&s.clock),
                    Arc::clone(&s.random),
                    accounts.fingerprints().clone(),
                );
                Ok(OidcServices { provider, accounts })
            })
            .await
    }
}

/// Discovery and JWKS: what the `oidc` function serves beside the authorize pages.
pub fn metadata_router(state: ApiState) -> Router {
    discovery::routes()
        .layer(from_fn(headers::api_headers))
        .with_state(state)
}

/// Token and userinfo: the `token` function.
pub fn token_router(state: ApiState) -> Router {
    Router::new()
        .merge(token::routes())
        .merge(userinfo::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn(headers::api_headers))
        .with_state(state)
}

/// Every JSON endpoint, for the local stack.
pub fn router(state: ApiState) -> Router {
    metadata_router(state.clone()).merge(token_router(state))
}
