//! The `notify-worker` Lambda function: delivers queued mail and SMS, reporting the
//! messages to retry as partial batch failures.
#![forbid(unsafe_code)]

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (_config, services) = passerelle::services::start().await;
    passerelle::lambda::serve_queue(Arc::new(services.deliverer())).await
}
