//! The `oidc` Lambda function: discovery and JWKS, and the pages of the authorize step
//! (authorize, resume, consent, cancel) and RP-initiated logout. It serves the site's
//! router, so sign-in pages reached from here look and behave the same.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::api::metadata_router;
use passerelle::web::{WebState, router};

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (config, services) = passerelle::services::start().await;
    let state = WebState::from_config(Arc::new(services), &config, false);
    let app = metadata_router(state.api.clone()).merge(router(state));
    passerelle::lambda::http::serve(app).await
}
