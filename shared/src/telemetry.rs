//! Logging with `tracing`: JSON lines in Lambda (CloudWatch parses them), text locally.
//! Spans carry the request or message id, so every line of a request can be found.
//! Personal data and secrets are never logged: events log ids and outcomes only, and the
//! types that hold PII or keys redact themselves in `Debug`.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber once; later calls (tests, several routers in one
/// process) are no-ops.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(true)
        .with_span_events(FmtSpan::NONE);
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            // Lambda adds its own timestamps; keeping ours costs little and helps locally.
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}
