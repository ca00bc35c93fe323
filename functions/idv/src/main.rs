//! The `idv` Lambda function: the identity-verification pages (`/verify/*`, IDV-1). It
//! serves the site's router, so the pages it leads to (sign-in, the account, an agency's
//! waiting request) behave the same; API Gateway sends it only `/verify` routes, and only
//! its role may queue proofing jobs.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::web::{WebState, router};

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (config, services) = passerelle::services::start().await;
    let state = WebState::from_config(Arc::new(services), &config, false);
    passerelle::lambda::http::serve(router(state)).await
}
