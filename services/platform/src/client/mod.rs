//! The resilient HTTP client every synchronous call between services goes through.
//!
//! *Microservices Patterns* ch. 3: a service calling another synchronously must not let
//! the other's failure or slowness become its own. Each [`ResilientClient`] guards one
//! target (e.g. order-service → consumer-service) with, from the outside in:
//!
//! 1. **bulkhead** — at most `max_in_flight` calls at once; one more fails at once with
//!    [`CallError::Bulkhead`] instead of queueing, so a slow target cannot absorb every
//!    task and connection of the caller. A rejection here is our own overload, not a
//!    failure of the target, so the breaker never sees it.
//! 2. **circuit breaker** — when at least `failure_rate_threshold` of the last
//!    `sliding_window_size` calls (and at least `minimum_calls`) failed, it opens: calls
//!    fail at once with [`CallError::BreakerOpen`], without a request, for `open_wait_ms`.
//!    Then it lets `half_open_calls` trial calls through; all succeeding closes it, one
//!    failing opens it again. Failures are 5xx, timeouts and transport errors; any other
//!    answer (2xx, 404 and other 4xx) shows the target is working and counts as success.
//! 3. **time limit** — the whole exchange, body included, must finish within
//!    `timeout_ms`, or the call fails with [`CallError::Timeout`] (and the request is
//!    dropped, closing its connection).
//!
//! The three layers are tower-resilience's (`BulkheadLayer` in fail-fast mode,
//! `CircuitBreakerLayer`, `TimeLimiterLayer`) around a reqwest call, with one exception:
//! its count-based window does not slide (see `window.rs`), so the decision to open is a
//! small ring of recent outcomes here, applied through the breaker's handle.
//!
//! **The fallback is the caller's.** This client only says, quickly, that there is no
//! answer; what to do then depends on the use case. Order-service, for example, returns
//! the order without the consumer's details and marks it degraded when the call to
//! consumer-service fails. No retries either: a retry multiplies load on a target that is
//! already failing, and whether a call may be repeated is also the caller's knowledge.
//!
//! The target is found by `base_url` from configuration only: in Kubernetes the Service's
//! DNS name (`http://consumer-service:8080`), which load-balances over its pods. TLS is not
//! compiled in (in-cluster plain HTTP), so the scheme must be `http`.
//!
//! Metrics, in the registry given to [`ResilientClient::new`], with `target` as label:
//! `ftgo_http_client_breaker_state` (0 closed, 1 open, 2 half-open),
//! `ftgo_http_client_breaker_transitions_total{to}`,
//! `ftgo_http_client_requests_total{outcome}` (ok, not_found, status, timeout, transport,
//! breaker_open, bulkhead, decode) and `ftgo_http_client_request_duration_seconds`.

mod error;
mod metrics;
mod settings;
mod transport;
mod window;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus::Registry;
use reqwest::header::{ACCEPT, HeaderValue};
use serde::de::DeserializeOwned;
use tower::{Layer, ServiceExt};
use tower_resilience::bulkhead::{Bulkhead, BulkheadLayer, BulkheadServiceError};
use tower_resilience::circuitbreaker::{
    CircuitBreaker, CircuitBreakerError, CircuitBreakerHandle, CircuitBreakerLayer, CircuitState,
    DefaultClassifier,
};
use tower_resilience::timelimiter::{
    FixedTimeout, TimeLimiter, TimeLimiterError, TimeLimiterLayer,
};

pub use error::{BreakerState, CallError};
pub use settings::{ClientSettings, ResilienceSettings};

use crate::messaging::headers::TRACEPARENT;
use crate::{Error, Result};
use metrics::ClientMetrics;
use transport::{Failure, HttpCall, Reply};
use window::Window;

/// Bulkhead → circuit breaker → time limiter → reqwest. The breaker classifies every
/// `Err` below it as a failure: timeouts, transport errors and 5xx (see `transport`).
type Stack = Bulkhead<CircuitBreaker<TimeLimiter<HttpCall, FixedTimeout>, DefaultClassifier>>;
type StackError = BulkheadServiceError<CircuitBreakerError<TimeLimiterError<Failure>>>;

/// A client for one target service, safe to share: clones share the bulkhead, the
/// breaker, the connection pool and the metrics.
#[derive(Clone)]
pub struct ResilientClient {
    inner: Arc<Inner>,
}

struct Inner {
    target: &'static str,
    base_url: String,
    http: reqwest::Client,
    stack: Stack,
    breaker: CircuitBreakerHandle,
    window: Arc<Mutex<Window>>,
    metrics: ClientMetrics,
}

impl ResilientClient {
    /// A client for `target` at `base_url`, registering its metrics in `registry`.
    ///
    /// `target` names the dependency in metrics and logs (e.g. `"consumer-service"`); it
    /// is `'static` so that label values stay a fixed, small set. One client per target and
    /// registry: a second one for the same target fails (`Error::Metrics`) — clone the
    /// first instead, so both share the breaker.
    pub fn new(
        target: &'static str,
        base_url: &str,
        settings: &ResilienceSettings,
        registry: &Registry,
    ) -> Result<Self> {
        settings.validate()?;
        let base_url = checked_base_url(target, base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("ftgo-platform/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::HttpClient(transport::describe(&e)))?;
        let metrics = ClientMetrics::new(target)?;
        let window = Arc::new(Mutex::new(Window::new(
            settings.sliding_window_size,
            settings.minimum_calls,
            settings.failure_rate_threshold,
        )));

        let on_transition = {
            let window = Arc::clone(&window);
            let metrics = metrics.clone();
            move |from: CircuitState, to: CircuitState| {
                let (from, to) = (BreakerState::from(from), BreakerState::from(to));
                lock(&window).transitioned(to);
                metrics.transitioned(to);
                if to == BreakerState::Open {
                    tracing::warn!(
                        client_target = target,
                        from = from.label(),
                        "circuit breaker opened: calls are rejected"
                    );
                } else {
                    tracing::info!(
                        client_target = target,
                        from = from.label(),
                        to = to.label(),
                        "circuit breaker transition"
                    );
                }
            }
        };
        let (breaker_layer, breaker) = CircuitBreakerLayer::builder()
            .name(target)
            // Its own count-based trip is switched off (the window never fills); our
            // sliding window opens the breaker through `breaker.force_open()`.
            .sliding_window_size(usize::MAX)
            .wait_duration_in_open(Duration::from_millis(settings.open_wait_ms))
            .permitted_calls_in_half_open(settings.half_open_calls)
            .on_state_transition(on_transition)
            .build_with_handle()
            .map_err(|e| invalid_settings(&e))?;
        let bulkhead_layer = BulkheadLayer::builder()
            .name(target)
            .max_concurrent_calls(settings.max_in_flight)
            .reject_when_full()
            .build()
            .map_err(|e| invalid_settings(&e))?;
        let time_limit_layer = TimeLimiterLayer::builder()
            .name(target)
            .timeout_duration(Duration::from_millis(settings.timeout_ms))
            .cancel_running_future(true)
            .build();
        let stack = bulkhead_layer
            .layer(breaker_layer.layer(time_limit_layer.layer(HttpCall { http: http.clone() })));
        // Last, so a client that could not be built leaves nothing in the registry.
        metrics.register(registry)?;

        Ok(Self {
            inner: Arc::new(Inner {
                target,
                base_url,
                http,
                stack,
                breaker,
                window,
                metrics,
            }),
        })
    }

    /// [`ResilientClient::new`] from a service's configuration entry for this target.
    pub fn from_settings(
        target: &'static str,
        settings: &ClientSettings,
        registry: &Registry,
    ) -> Result<Self> {
        Self::new(target, &settings.base_url, &settings.resilience, registry)
    }

    /// `GET base_url + path` as JSON: `Ok(Some(_))` on 2xx, `Ok(None)` on 404 (an answer —
    /// "no such resource" — not a failure of the target).
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, CallError> {
        self.get_json_traced(path, None).await
    }

    /// [`Self::get_json`], passing on the caller's W3C `traceparent` so the target's logs
    /// join the same trace. An invalid header value is dropped (the call still goes out),
    /// as W3C Trace Context asks of a malformed parent.
    pub async fn get_json_traced<T: DeserializeOwned>(
        &self,
        path: &str,
        traceparent: Option<&str>,
    ) -> Result<Option<T>, CallError> {
        let result = self
            .exchange(path, traceparent)
            .await
            .and_then(|reply| match reply.status {
                200..=299 => serde_json::from_slice(&reply.body)
                    .map(Some)
                    .map_err(|e| CallError::Decode(e.to_string())),
                404 => Ok(None),
                status => Err(CallError::Status(status)),
            });
        let outcome = match &result {
            Ok(Some(_)) => "ok",
            Ok(None) => "not_found",
            Err(error) => error.outcome(),
        };
        self.inner.metrics.outcome(outcome);
        if let Err(error) = &result {
            tracing::debug!(client_target = self.inner.target, path, outcome, %error, "call failed");
        }
        result
    }

    /// The breaker's state now, e.g. for a readiness detail or a test. (An open breaker
    /// reads `Open` until the first call after `open_wait_ms`, which moves it on.)
    pub fn breaker_state(&self) -> BreakerState {
        self.inner.breaker.state().into()
    }

    /// The target name given at construction.
    pub fn target(&self) -> &'static str {
        self.inner.target
    }

    /// Sends one request through the stack and feeds the outcome to the sliding window.
    async fn exchange(&self, path: &str, traceparent: Option<&str>) -> Result<Reply, CallError> {
        let inner = &*self.inner;
        let request = inner.request(path, traceparent)?;
        let admitted = lock(&inner.window).snapshot();
        let started = Instant::now();
        let result = inner
            .stack
            .clone()
            .oneshot(request)
            .await
            .map_err(call_error);
        if matches!(result, Err(CallError::BreakerOpen | CallError::Bulkhead)) {
            return result;
        }
        inner
            .metrics
            .observe_duration(started.elapsed().as_secs_f64());
        // Below the breaker, every `Err` is a failure of the target (5xx, timeout,
        // transport); the same classification tower-resilience applies.
        let trip = lock(&inner.window).record(admitted, result.is_err());
        if trip {
            inner.breaker.force_open().await;
        }
        result
    }
}

impl Inner {
    fn request(
        &self,
        path: &str,
        traceparent: Option<&str>,
    ) -> Result<reqwest::Request, CallError> {
        let url = format!("{}/{}", self.base_url, path.trim_start_matches('/'));
        let mut builder = self
            .http
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(value) = traceparent.and_then(|v| HeaderValue::from_str(v).ok()) {
            builder = builder.header(TRACEPARENT, value);
        }
        builder
            .build()
            .map_err(|e| CallError::Transport(transport::describe(&e)))
    }
}

impl fmt::Debug for ResilientClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResilientClient")
            .field("target", &self.inner.target)
            .field("base_url", &self.inner.base_url)
            .field("breaker_state", &self.breaker_state())
            .finish_non_exhaustive()
    }
}

impl From<CircuitState> for BreakerState {
    fn from(state: CircuitState) -> Self {
        match state {
            CircuitState::Closed => BreakerState::Closed,
            CircuitState::Open => BreakerState::Open,
            CircuitState::HalfOpen => BreakerState::HalfOpen,
        }
    }
}

fn call_error(error: StackError) -> CallError {
    match error {
        BulkheadServiceError::Bulkhead(_) => CallError::Bulkhead,
        BulkheadServiceError::Inner(CircuitBreakerError::OpenCircuit) => CallError::BreakerOpen,
        BulkheadServiceError::Inner(CircuitBreakerError::Inner(TimeLimiterError::Timeout)) => {
            CallError::Timeout
        }
        BulkheadServiceError::Inner(CircuitBreakerError::Inner(TimeLimiterError::Inner(
            failure,
        ))) => match failure {
            Failure::Status(status) => CallError::Status(status),
            Failure::Transport(reason) => CallError::Transport(reason),
        },
    }
}

/// `http://host:port` (a path prefix is allowed), without a trailing slash.
fn checked_base_url(target: &str, base_url: &str) -> Result<String> {
    let invalid = |reason: String| Error::ConfigKey {
        key: "base_url".into(),
        reason: format!("client for {target}: {reason}"),
    };
    let url = reqwest::Url::parse(base_url).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if url.scheme() != "http" {
        return Err(invalid(
            "scheme must be http (TLS is not compiled in)".into(),
        ));
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("expected http://host:port".into()));
    }
    Ok(base_url.trim_end_matches('/').to_owned())
}

fn invalid_settings(error: &dyn std::error::Error) -> Error {
    Error::ConfigKey {
        key: "resilience".into(),
        reason: error.to_string(),
    }
}

fn lock(window: &Mutex<Window>) -> MutexGuard<'_, Window> {
    // Every update of the window leaves it consistent, so a poisoned lock is still usable.
    window
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
