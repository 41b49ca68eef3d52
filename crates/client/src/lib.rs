//! The resilient client every synchronous call between services goes through, over REST
//! or gRPC.
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
//!    failing opens it again. Failures are 5xx (gRPC: the codes that map to 5xx),
//!    timeouts and transport errors ([`CallError::is_failure`]); any other answer (2xx,
//!    404 / NOT_FOUND and other 4xx) shows the target is working and counts as success.
//! 3. **time limit** — the whole exchange, body included, must finish within
//!    `timeout_ms`, or the call fails with [`CallError::Timeout`] (and the request is
//!    dropped, closing its connection).
//!
//! The three layers are tower-resilience's (`BulkheadLayer` in fail-fast mode,
//! `CircuitBreakerLayer`, `TimeLimiterLayer`) around one call of a [`Transport`] —
//! [`RestTransport`] (reqwest) or a gRPC one (tonic: `consumer_api::GrpcConsumers`, which
//! lives with the API it calls) — with one exception:
//! its count-based window does not slide (see `window.rs`), so the decision to open is a
//! small ring of recent outcomes here, applied through the breaker's handle.
//!
//! **The fallback is the caller's.** This client only says, quickly, that there is no
//! answer; what to do then depends on the use case. Order-service, for example, returns
//! the order without the consumer's details and marks it degraded when the call to
//! consumer-service fails. No retries either: a retry multiplies load on a target that is
//! already failing, and whether a call may be repeated is also the caller's knowledge.
//!
//! The target is found by URL from configuration only: in Kubernetes the Service's DNS
//! name (`http://consumer-service:8080`, or its gRPC port), which load-balances over its
//! pods (for gRPC per connection: one HTTP/2 channel carries every call). TLS is not
//! compiled in (in-cluster plaintext), so the scheme must be `http`.
//!
//! Metrics, in the registry given to [`ResilientClient::new`], with `target` and
//! `transport` (`rest`, `grpc`) as labels:
//! `ftgo_client_breaker_state` (0 closed, 1 open, 2 half-open),
//! `ftgo_client_breaker_transitions_total{to}`,
//! `ftgo_client_calls_total{outcome}` (ok, not_found, status, timeout, transport,
//! breaker_open, bulkhead, decode) and `ftgo_client_call_duration_seconds`.

mod error;
mod metrics;
mod rest;
mod settings;
mod transport;
mod window;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus::Registry;
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

pub use error::{BreakerState, CallError, Error, Result};
pub use rest::{RestTransport, checked_url, describe};
pub use settings::{ClientSettings, ResilienceSettings, TransportKind};
pub use transport::{CallFuture, Transport};

use metrics::ClientMetrics;
use transport::{Call, Traced};
use window::Window;

/// Bulkhead → circuit breaker → time limiter → the transport. The breaker classifies
/// every `Err` below it as a failure: timeouts and what [`CallError::is_failure`] says.
type Stack<T> = Bulkhead<CircuitBreaker<TimeLimiter<Call<T>, FixedTimeout>, DefaultClassifier>>;
type StackError = BulkheadServiceError<CircuitBreakerError<TimeLimiterError<CallError>>>;

/// A client for one target service over transport `T` (REST by default), safe to
/// share: clones share the bulkhead, the breaker, the connections and the metrics.
pub struct ResilientClient<T: Transport = RestTransport> {
    inner: Arc<Inner<T>>,
}

impl<T: Transport> Clone for ResilientClient<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<T: Transport> {
    target: &'static str,
    stack: Stack<T>,
    breaker: CircuitBreakerHandle,
    window: Arc<Mutex<Window>>,
    metrics: ClientMetrics,
}

impl ResilientClient<RestTransport> {
    /// A REST client for `target` at `base_url`, registering its metrics in `registry`.
    ///
    /// `target` names the dependency in metrics and logs (e.g. `"consumer-service"`); it
    /// is `'static` so that label values stay a fixed, small set. One client per target,
    /// transport and registry: a second one fails (`Error::Metrics`) — clone the first
    /// instead, so both share the breaker.
    pub fn new(
        target: &'static str,
        base_url: &str,
        settings: &ResilienceSettings,
        registry: &Registry,
    ) -> Result<Self> {
        let transport = RestTransport::new(target, base_url)?;
        Self::with_transport(target, transport, settings, registry)
    }

    /// [`ResilientClient::new`] from a service's configuration entry for this target
    /// (its `base_url`).
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
            .exchange(path.to_owned(), traceparent)
            .await
            .and_then(|body| {
                body.map(|body| serde_json::from_slice(&body))
                    .transpose()
                    .map_err(|e| CallError::Decode(e.to_string()))
            });
        self.count(&result);
        result
    }
}

impl<T: Transport> ResilientClient<T> {
    /// A client for `target` over `transport`, registering its metrics in `registry`
    /// (see [`ResilientClient::new`]).
    pub fn with_transport(
        target: &'static str,
        transport: T,
        settings: &ResilienceSettings,
        registry: &Registry,
    ) -> Result<Self> {
        settings.validate()?;
        let metrics = ClientMetrics::new(target, T::NAME)?;
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
        let stack =
            bulkhead_layer.layer(breaker_layer.layer(time_limit_layer.layer(Call(transport))));
        // Last, so a client that could not be built leaves nothing in the registry.
        metrics.register(registry)?;

        Ok(Self {
            inner: Arc::new(Inner {
                target,
                stack,
                breaker,
                window,
                metrics,
            }),
        })
    }

    /// One call through the stack: `Ok(Some(_))` an answer, `Ok(None)` "no such
    /// resource" (not a failure of the target), `Err` no usable answer.
    pub async fn call(
        &self,
        request: T::Request,
        traceparent: Option<&str>,
    ) -> Result<Option<T::Response>, CallError> {
        let result = self.exchange(request, traceparent).await;
        self.count(&result);
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
    async fn exchange(
        &self,
        request: T::Request,
        traceparent: Option<&str>,
    ) -> Result<Option<T::Response>, CallError> {
        let inner = &*self.inner;
        let traced = Traced {
            request,
            traceparent: traceparent.map(str::to_owned),
        };
        let admitted = lock(&inner.window).snapshot();
        let started = Instant::now();
        let result = inner
            .stack
            .clone()
            .oneshot(traced)
            .await
            .map_err(call_error);
        if matches!(result, Err(CallError::BreakerOpen | CallError::Bulkhead)) {
            return result.and_then(|answer| answer);
        }
        inner
            .metrics
            .observe_duration(started.elapsed().as_secs_f64());
        // Below the breaker, every `Err` is a failure of the target; answers are `Ok`,
        // whatever they hold: the same classification tower-resilience applies.
        let trip = lock(&inner.window).record(admitted, result.is_err());
        if trip {
            inner.breaker.force_open().await;
        }
        result.and_then(|answer| answer)
    }

    /// Counts a finished call under its outcome (and logs a failed one).
    fn count<R>(&self, result: &Result<Option<R>, CallError>) {
        let outcome = match result {
            Ok(Some(_)) => "ok",
            Ok(None) => "not_found",
            Err(error) => error.outcome(),
        };
        self.inner.metrics.outcome(outcome);
        if let Err(error) = result {
            tracing::debug!(
                client_target = self.inner.target,
                transport = T::NAME,
                outcome,
                %error,
                "call failed"
            );
        }
    }
}

impl<T: Transport> fmt::Debug for ResilientClient<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResilientClient")
            .field("target", &self.inner.target)
            .field("transport", &T::NAME)
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
        ))) => failure,
    }
}

fn invalid_settings(error: &dyn std::error::Error) -> Error {
    Error::config_key("resilience", error.to_string())
}

fn lock(window: &Mutex<Window>) -> MutexGuard<'_, Window> {
    // Every update of the window leaves it consistent, so a poisoned lock is still usable.
    window
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
