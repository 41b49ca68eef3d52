//! Structured logs: one JSON object per line on stdout, filtered by `RUST_LOG`.
//!
//! JSON because the logs of a fleet are read by machines (Loki, Elasticsearch) before
//! people. Secret values are kept out by construction: settings hold them as
//! [`secrecy::SecretString`], whose `Debug` output is `[REDACTED]`.

use tracing_subscriber::EnvFilter;

/// Installs the global JSON log subscriber; `default_filter` applies when `RUST_LOG` is
/// unset (e.g. `"info"`). Calling it twice is harmless: the first subscriber stays.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .try_init();
}

/// The W3C trace-context header (`traceparent`) that carries a request's trace from an
/// HTTP call into the messages and calls it causes.
pub const TRACEPARENT: &str = "traceparent";
