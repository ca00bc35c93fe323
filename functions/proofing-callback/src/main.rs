//! The `proofing-callback` Lambda function: `POST /vendor/callback/document`, the document
//! vendor's signed results (HMAC-SHA256 under `PASSERELLE_VENDOR_CALLBACK_SECRETS`, two
//! accepted during a rotation; stale timestamps and replays refused).
#![forbid(unsafe_code)]

use passerelle::config::VendorConfig;
use passerelle::idv::callback::{CallbackSecrets, Callbacks, router};
use passerelle::services::exit_with;

#[tokio::main]
async fn main() -> Result<(), passerelle::lambda::Error> {
    let (_config, services) = passerelle::services::start().await;
    let secrets = VendorConfig::from_env()
        .and_then(|cfg| CallbackSecrets::from_config(&cfg))
        .unwrap_or_else(|e| exit_with(&e));
    let callbacks = Callbacks::new(services.proofing(), secrets);
    passerelle::lambda::http::serve(router(callbacks)).await
}
