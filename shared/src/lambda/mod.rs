//! Glue between Lambda's event sources and Passerelle's handlers: SQS batches with
//! partial failures for queue consumers, scheduled jobs (EventBridge), and (with
//! `lambda-http`) the HTTP adapter.

#[cfg(feature = "lambda-api")]
pub mod http;

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
pub use lambda_runtime::{Diagnostic, Error};
use lambda_runtime::{LambdaEvent, service_fn};
use tracing::Instrument;

use crate::queue::consumer::{JobHandler, Outcome};

/// Runs each record through `handler`; the records to retry are reported as batch item
/// failures, so SQS deletes the rest (the event source mapping must enable
/// `ReportBatchItemFailures`).
pub async fn handle_sqs_batch(handler: &Arc<dyn JobHandler>, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        // SQS counts this delivery; the handler's last attempt is the redrive's last.
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let outcome = match record.body.as_deref() {
            Some(body) => {
                let span = tracing::info_span!("message", id = %id, job = handler.name());
                // Instrumented, never entered across the await (see queue::consumer).
                handler
                    .handle_delivery(&id, body, receive_count)
                    .instrument(span)
                    .await
            }
            None => {
                tracing::warn!(message = %id, "a record without a body was dropped");
                Outcome::Drop
            }
        };
        if outcome == Outcome::Retry {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

/// Serves `handler` as this Lambda function's SQS consumer, until the runtime stops.
pub async fn serve_queue(handler: Arc<dyn JobHandler>) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        async move { Ok::<_, Error>(handle_sqs_batch(&handler, event.payload).await) }
    }))
    .await
}

/// The `errorType` of a scheduled invocation whose job failed.
pub const SCHEDULED_JOB_FAILED: &str = "ScheduledJobFailed";

/// One scheduled invocation: awaits `run` (one pass of the job named `job`) and logs its
/// outcome. The count it returns is the invocation's result; an error fails the
/// invocation (Lambda retries it, and it counts in the function's `Errors` metric).
pub async fn run_scheduled<E: Display>(
    job: &str,
    run: impl Future<Output = Result<usize, E>>,
) -> Result<usize, Diagnostic> {
    match run.await {
        Ok(count) => {
            tracing::info!(job, count, "scheduled run done");
            Ok(count)
        }
        Err(e) => {
            tracing::error!(job, error = %e, "scheduled run failed");
            Err(Diagnostic {
                error_type: SCHEDULED_JOB_FAILED.into(),
                error_message: format!("{job}: {e}"),
            })
        }
    }
}

/// Serves a job on a schedule (an EventBridge rule invoking this function), until the
/// runtime stops. Each invocation calls `run` once: build what it needs before, at cold
/// start, and capture it. The event itself carries nothing the job needs.
pub async fn serve_schedule<F, Fut, E>(job: &'static str, run: F) -> Result<(), Error>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize, E>>,
    E: Display,
{
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        run_scheduled(job, run())
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_scheduled_run_returns_its_count() {
        let done = run_scheduled("account-reset", async { Ok::<_, String>(3) }).await;
        assert_eq!(done, Ok(3));
    }

    #[tokio::test]
    async fn a_failed_scheduled_run_fails_the_invocation_naming_the_job() {
        let failed = run_scheduled("account-reset", async {
            Err::<usize, _>("the store is unavailable")
        })
        .await
        .unwrap_err();
        assert_eq!(failed.error_type, SCHEDULED_JOB_FAILED);
        assert_eq!(
            failed.error_message,
            "account-reset: the store is unavailable"
        );
    }
}
