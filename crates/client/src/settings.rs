//! Settings of one outgoing dependency: where it is and how hard to protect ourselves.

use serde::Deserialize;

use crate::{Error, Result};

/// One synchronous dependency as it appears in a service's configuration, e.g.
///
/// ```yaml
/// consumer_service:
///   transport: grpc                          # rest (default) or grpc
///   base_url: http://consumer-service:8080
///   grpc_url: http://consumer-service:9091   # needed with transport: grpc
///   resilience: { timeout_ms: 500 }
/// ```
///
/// The URLs are DNS names from configuration (in Kubernetes the Service name); there is
/// no other discovery.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSettings {
    /// Which protocol the calls use; both go through the same resilience stack.
    #[serde(default)]
    pub transport: TransportKind,
    /// Scheme, host and port of the target's REST API, e.g. `http://consumer-service:8080`.
    pub base_url: String,
    /// Scheme, host and port of the target's gRPC server, e.g.
    /// `http://consumer-service:9091`; required when `transport` is `grpc`.
    #[serde(default)]
    pub grpc_url: Option<String>,
    /// Timeout, bulkhead and circuit-breaker settings; every field has a default.
    #[serde(default)]
    pub resilience: ResilienceSettings,
}

/// The protocol of a synchronous dependency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// JSON over HTTP/1.1: the target's public REST API.
    #[default]
    Rest,
    /// Protobuf over HTTP/2 (tonic): the target's gRPC server.
    Grpc,
}

impl ClientSettings {
    /// `grpc_url`, or a configuration error naming the key when it is missing.
    pub fn required_grpc_url(&self) -> Result<&str> {
        self.grpc_url
            .as_deref()
            .ok_or_else(|| Error::config_key("grpc_url", "required when transport is grpc"))
    }
}

/// How one client protects its caller from a slow or failing target.
///
/// Names follow Resilience4j, which the book's examples use. Every field has a default,
/// so `resilience: {}` (or leaving it out) is valid.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResilienceSettings {
    /// Longest wait for a whole call (connect, headers and body). A call that takes
    /// longer fails with `Timeout` and counts as a breaker failure: a slow dependency
    /// must not hold the caller's threads and connections.
    pub timeout_ms: u64,
    /// Bulkhead: calls in flight at once to this target. One more is rejected at once
    /// (`Bulkhead`) rather than queued, so one slow target cannot absorb every task.
    pub max_in_flight: usize,
    /// The breaker opens when at least this share (0 < x ≤ 1) of the calls in the
    /// sliding window failed.
    pub failure_rate_threshold: f64,
    /// The sliding window: the last N calls made while closed.
    pub sliding_window_size: usize,
    /// No verdict before this many calls are in the window (a single failure after a
    /// restart must not open the breaker). Capped at `sliding_window_size`.
    pub minimum_calls: usize,
    /// How long an open breaker rejects calls before letting trial calls through.
    pub open_wait_ms: u64,
    /// Trial calls let through when half-open; all must succeed to close the breaker.
    pub half_open_calls: usize,
}

impl Default for ResilienceSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 1000,
            max_in_flight: 32,
            failure_rate_threshold: 0.5,
            sliding_window_size: 20,
            minimum_calls: 5,
            open_wait_ms: 5000,
            half_open_calls: 3,
        }
    }
}

impl ResilienceSettings {
    /// Checks ranges the types cannot express; errors name the key, as config errors do.
    pub fn validate(&self) -> Result<()> {
        let zero = [
            ("timeout_ms", self.timeout_ms == 0),
            ("max_in_flight", self.max_in_flight == 0),
            ("sliding_window_size", self.sliding_window_size == 0),
            ("minimum_calls", self.minimum_calls == 0),
            ("half_open_calls", self.half_open_calls == 0),
        ];
        if let Some((key, _)) = zero.into_iter().find(|(_, is_zero)| *is_zero) {
            return Err(invalid(key, "must be at least 1"));
        }
        let rate = self.failure_rate_threshold;
        if !(rate > 0.0 && rate <= 1.0) {
            return Err(invalid(
                "failure_rate_threshold",
                "must be greater than 0 and at most 1",
            ));
        }
        Ok(())
    }
}

fn invalid(key: &str, reason: &str) -> Error {
    Error::config_key(format!("resilience.{key}"), reason.to_owned())
}
