//! Glue between Lambda's event sources and Passerelle's handlers: SQS batches with
//! partial failures for queue consumers, and (with `lambda-http`) the HTTP adapter.

#[cfg(feature = "lambda-http")]
pub mod http;

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
pub use lambda_runtime::Error;
use lambda_runtime::{LambdaEvent, service_fn};

use crate::queue::consumer::{JobHandler, Outcome};

/// Runs each record through `handler`; the records to retry are reported as batch item
/// failures, so SQS deletes the rest (the event source mapping must enable
/// `ReportBatchItemFailures`).
pub async fn handle_sqs_batch(handler: &Arc<dyn JobHandler>, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.unwrap_or_default();
        let outcome = match record.body.as_deref() {
            Some(body) => {
                let span = tracing::info_span!("message", id = %id, job = handler.name());
                let _enter = span.enter();
                handler.handle(&id, body).await
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
