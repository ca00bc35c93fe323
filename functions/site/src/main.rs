//! The `site` Lambda function: home page, account pages (sign-up, sign-in, password
//! reset, rules of use), language choice, static assets and health.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::web::{WebState, router};

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (config, services) = passerelle::services::start().await;
    let state = WebState::from_config(Arc::new(services), &config, false);
    passerelle::lambda::http::serve(router(state)).await
}
