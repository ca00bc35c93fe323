//! The `site` Lambda function: home page, language choice, static assets and health.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::web::{WebState, router};

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (config, services) = passerelle::services::start().await;
    let state = WebState {
        services: Arc::new(services),
        public_url: config.public_url,
        dev_outbox: false,
    };
    passerelle::lambda::http::serve(router(state)).await
}
