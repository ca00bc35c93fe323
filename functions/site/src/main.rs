//! The `site` Lambda function: home page, account pages (sign-up, sign-in, password
//! reset, rules of use), language choice, static assets and health.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::web::{WebState, router};

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (config, services) = passerelle::services::start().await;
    let state = WebState::new(Arc::new(services), config.public_url, false);
    passerelle::lambda::http::serve(router(state)).await
}
