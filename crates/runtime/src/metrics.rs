//! Prometheus metrics.
//!
//! We use the `prometheus` crate rather than the `metrics` facade: a facade installs one
//! global recorder per process, while tests here run several applications in one process,
//! each of which must expose only its own series. An explicit [`Registry`] per application
//! gives that, and typed metric handles make a misspelt label a compile error.

use prometheus::{Encoder, Registry, TextEncoder};

use crate::Result;

/// A registry holding the process collector (RSS, CPU, open fds) plus whatever the
/// application registers.
pub fn registry() -> Result<Registry> {
    let registry = Registry::new();
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    Ok(registry)
}

/// The registry in the Prometheus text exposition format.
pub fn render(registry: &Registry) -> String {
    let mut buffer = Vec::new();
    // The text format writes into a Vec; a family it refuses (an inconsistent metric)
    // is logged, and the families before it are still served.
    if let Err(error) = TextEncoder::new().encode(&registry.gather(), &mut buffer) {
        tracing::error!(%error, "cannot render the metrics");
    }
    String::from_utf8_lossy(&buffer).into_owned()
}
