//! The `account-reset-job` Lambda function (ACC-7): on an EventBridge schedule, mails the
//! deletion link of every account reset whose 24-hour wait is over. Each invocation is
//! one run; the count mailed is its result, a failure fails the invocation.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::web::WebState;
use passerelle::web::account_reset::run_due_resets;

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    // Cold start, once: configuration, adapters, state. Invocations only run the job.
    let (config, services) = passerelle::services::start().await;
    let state = WebState::from_config(Arc::new(services), &config, false);
    passerelle::lambda::serve_schedule("account-reset", move || {
        let state = state.clone();
        async move { run_due_resets(&state).await }
    })
    .await
}
