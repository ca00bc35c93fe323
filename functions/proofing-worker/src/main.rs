//! The `proofing-worker` Lambda function: runs queued identity-proofing jobs against the
//! vendors (`PASSERELLE_VENDOR_URL`), reporting the messages to retry as partial batch
//! failures. A job's last attempt marks it unavailable before its message goes to the
//! dead-letter queue.
#![forbid(unsafe_code)]

use std::sync::Arc;

use passerelle::config::VendorConfig;
use passerelle::idv::vendors::http::HttpVendors;
use passerelle::services::exit_with;

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (_config, services) = passerelle::services::start().await;
    let vendors = VendorConfig::from_env()
        .and_then(|cfg| HttpVendors::from_config(&cfg))
        .unwrap_or_else(|e| exit_with(&e));
    let worker = services.proofing_worker(vendors.vendors());
    passerelle::lambda::serve_queue(Arc::new(worker)).await
}
