//! The `account-reset-job` Lambda function, Passerelle's scheduled-jobs runner: on an
//! EventBridge schedule, every invocation runs each scheduled job once, in turn — the
//! account-reset job (ACC-7: mails the deletion link of each reset whose 24-hour wait is
//! over), then the letter reminders (IDV-4: mails a reminder for each letter whose code was
//! not entered 10 days after it was sent). Each job runs even when the other failed; the
//! result is the count of mail sent by both, and a failure of either fails the invocation
//! (naming the job), so it counts in the function's Errors alarm.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::web::account_reset::run_due_resets;
use passerelle::web::letter_reminders::run_due_letter_reminders;
use passerelle::web::{WebError, WebState};

/// One invocation: both jobs, whatever the other did.
async fn run_jobs(state: &WebState) -> Result<usize, String> {
    let runs: [(&str, Result<usize, WebError>); 2] = [
        ("account-reset", run_due_resets(state).await),
        ("letter-reminders", run_due_letter_reminders(state).await),
    ];
    let mut done = 0;
    let mut failed = Vec::new();
    for (job, run) in runs {
        match run {
            Ok(count) => done += count,
            Err(e) => failed.push(format!("{job}: {e}")),
        }
    }
    if failed.is_empty() {
        Ok(done)
    } else {
        Err(failed.join("; "))
    }
}

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    // Cold start, once: configuration, adapters, state. Invocations only run the jobs.
    let (config, services) = passerelle::services::start().await;
    let state = WebState::from_config(Arc::new(services), &config, false);
    passerelle::lambda::serve_schedule("scheduled-jobs", move || {
        let state = state.clone();
        async move { run_jobs(&state).await }
    })
    .await
}
