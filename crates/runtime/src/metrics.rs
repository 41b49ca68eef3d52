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
    // Encoding into a Vec cannot fail for the text format.
    let _ = TextEncoder::new().encode(&registry.gather(), &mut buffer);
    String::from_utf8(buffer).unwrap_or_default()
}
