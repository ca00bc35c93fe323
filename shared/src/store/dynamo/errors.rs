//! DynamoDB's errors as the store port's: which ones mean "the condition did not hold",
//! which are throttling (safe to retry later), which are a bad request, which are
//! permanent (permissions, a missing table: retrying does not help), and the rest
//! (internal errors, timeouts, lost connections: transient).

use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::store::StoreError;

pub(super) fn build_error(e: BuildError) -> StoreError {
    StoreError::Failed(format!("building a DynamoDB request: {e}"))
}

/// Codes that say the request will never succeed as configured: the role, the
/// credentials or the table are wrong, not busy.
const PERMANENT: [&str; 7] = [
    "AccessDeniedException",
    "ResourceNotFoundException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "MissingAuthenticationTokenException",
    "IncompleteSignatureException",
    "ExpiredTokenException",
];

/// Maps an SDK error. Service messages name attributes and operators, never values (the
/// values travel as placeholders), so they are safe to keep for logs.
pub(super) fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => StoreError::ConditionFailed,
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded",
        ) => StoreError::Throttled,
        // The request itself is wrong: an increment of a non-number, an item too large.
        Some("ValidationException") => StoreError::Invalid(format!(
            "DynamoDB refused the request: {}",
            e.message().unwrap_or("no detail")
        )),
        Some(code) if PERMANENT.contains(&code) => {
            StoreError::Failed(format!("{code}: {}", e.message().unwrap_or("no detail")))
        }
        Some(code) => {
            StoreError::Unavailable(format!("{code}: {}", e.message().unwrap_or("no detail")))
        }
        // No answer at all: a timeout, a dispatch failure, a lost connection.
        None => StoreError::Unavailable(DisplayErrorContext(&e).to_string()),
    }
}

/// Maps the first cancellation reason of a transaction that is not a failed expectation
/// (those become [`StoreError::TransactionCanceled`] before this is asked).
pub(super) fn cancellation_error(code: &str) -> StoreError {
    match code {
        "ValidationError" => StoreError::Invalid("a write of the transaction is not valid".into()),
        // A conflict with another transaction on the same item: like a throttle, it
        // clears by itself and retrying later is safe.
        "ThrottlingError"
        | "ProvisionedThroughputExceeded"
        | "RequestLimitExceeded"
        | "TransactionConflict" => StoreError::Throttled,
        _ => StoreError::Unavailable(format!("transaction cancelled: {code}")),
    }
}
