//! The client's Prometheus series, `ftgo_client_*`: named for what they count, calls to a
//! dependency over any transport (REST or gRPC), not HTTP requests.
//!
//! Each client registers its own collector in the application's registry, with `target`
//! as a *constant* label. The prometheus crate accepts several collectors of one family
//! when their constant label values differ, and merges them when gathering, so any number
//! of clients (one per target) share a registry without passing a shared handle around.
//! A second client for the same target is refused with `AlreadyReg`: one client per target
//! is the design (the client is `Clone` and its clones share breaker and bulkhead).

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

use crate::{BreakerState, Result};

/// Every value of the `outcome` label of `ftgo_client_calls_total`.
pub(crate) const OUTCOMES: [&str; 8] = [
    "ok",
    "not_found",
    "status",
    "timeout",
    "transport",
    "breaker_open",
    "bulkhead",
    "decode",
];

/// One client's series: breaker state and transitions, calls by outcome, call latency.
#[derive(Clone)]
pub(crate) struct ClientMetrics {
    breaker_state: IntGauge,
    transitions: IntCounterVec,
    requests: IntCounterVec,
    duration: Histogram,
}

impl ClientMetrics {
    /// Creates the series for `target`, not yet registered.
    ///
    /// `transport` (`rest`, `grpc`) is a constant label too, so a dashboard or a test
    /// sees which way the calls went.
    pub(crate) fn new(target: &'static str, transport: &'static str) -> Result<Self> {
        let opts = |name: &str, help: &str| {
            Opts::new(name, help)
                .const_label("target", target)
                .const_label("transport", transport)
        };
        let metrics = Self {
            breaker_state: IntGauge::with_opts(opts(
                "ftgo_client_breaker_state",
                "Circuit breaker state per target: 0 closed, 1 open, 2 half-open.",
            ))?,
            transitions: IntCounterVec::new(
                opts(
                    "ftgo_client_breaker_transitions_total",
                    "Circuit breaker transitions per target, by the state entered.",
                ),
                &["to"],
            )?,
            requests: IntCounterVec::new(
                opts(
                    "ftgo_client_calls_total",
                    "Calls per target by outcome: ok, not_found, status, timeout, transport, \
                     breaker_open, bulkhead, decode.",
                ),
                &["outcome"],
            )?,
            duration: Histogram::with_opts(
                HistogramOpts::new(
                    "ftgo_client_call_duration_seconds",
                    "Duration of calls that reached the network (rejections are not timed).",
                )
                .const_label("target", target)
                .const_label("transport", transport)
                // The server-side buckets (`http::metrics`), so both ends compare directly.
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ]),
            )?,
        };
        // Every label value exists from the start, so rates and alerts see a 0, not a gap.
        for state in [
            BreakerState::Closed,
            BreakerState::Open,
            BreakerState::HalfOpen,
        ] {
            metrics.transitions.with_label_values(&[state.label()]);
        }
        for outcome in OUTCOMES {
            metrics.requests.with_label_values(&[outcome]);
        }
        Ok(metrics)
    }

    /// Registers all four families in one step (one collector), so a refusal leaves
    /// nothing half-registered.
    pub(crate) fn register(&self, registry: &Registry) -> Result<()> {
        registry.register(Box::new(self.clone()))?;
        Ok(())
    }

    pub(crate) fn transitioned(&self, to: BreakerState) {
        self.breaker_state.set(to.gauge_value());
        self.transitions.with_label_values(&[to.label()]).inc();
    }

    pub(crate) fn outcome(&self, outcome: &str) {
        self.requests.with_label_values(&[outcome]).inc();
    }

    pub(crate) fn observe_duration(&self, seconds: f64) {
        self.duration.observe(seconds);
    }
}

impl Collector for ClientMetrics {
    fn desc(&self) -> Vec<&Desc> {
        let mut desc = self.breaker_state.desc();
        desc.extend(self.transitions.desc());
        desc.extend(self.requests.desc());
        desc.extend(self.duration.desc());
        desc
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut families = self.breaker_state.collect();
        families.extend(self.transitions.collect());
        families.extend(self.requests.collect());
        families.extend(self.duration.collect());
        families
    }
}
