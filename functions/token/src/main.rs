//! The `token` Lambda function: `POST /token` and `GET|POST /userinfo`, the path every
//! agency sign-in ends on. Built without the page machinery to start and run lean.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::api::{ApiState, token_router};

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (config, services) = passerelle::services::start().await;
    let state = ApiState::new(Arc::new(services), config.public_url.clone());
    passerelle::lambda::http::serve(token_router(state)).await
}
