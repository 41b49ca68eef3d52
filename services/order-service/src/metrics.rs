//! order-service's domain metrics: what the business sees of the asynchronous workflow.
//!
//! - `ftgo_orders_total{outcome}`: orders created, validated, rejected, cancelled.
//! - `ftgo_order_validation_seconds{outcome}`: from creation until the order left
//!   PENDING (validated or rejected): the price of validating asynchronously.
//! - `ftgo_orders_pending` and `ftgo_orders_oldest_pending_age_seconds`: read from the
//!   database by the sweeper, not derived from the counters, because counters restart
//!   with each process and each instance sees only the orders it handled, while "orders
//!   stuck in PENDING" is a fact about the database. Every instance reports the same
//!   values: aggregate with `max`.

use prometheus::{Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// The `outcome` label values of `ftgo_orders_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted as PENDING.
    Created,
    /// Both validations said yes.
    Validated,
    /// A validation said no, or the deadline passed.
    Rejected,
    /// The consumer cancelled it.
    Cancelled,
}

impl Outcome {
    const ALL: [Self; 4] = [
        Self::Created,
        Self::Validated,
        Self::Rejected,
        Self::Cancelled,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Validated => "validated",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Handles to the order metrics (cheap to clone).
#[derive(Debug, Clone)]
pub struct OrderMetrics {
    orders: IntCounterVec,
    validation: HistogramVec,
    pending: IntGauge,
    oldest_pending: Gauge,
}

impl OrderMetrics {
    /// Registers the metrics in `registry`, every label value at 0.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let metrics = Self {
            orders: IntCounterVec::new(
                Opts::new(
                    "ftgo_orders_total",
                    "Orders by outcome: created, validated, rejected, cancelled.",
                ),
                &["outcome"],
            )?,
            validation: HistogramVec::new(
                HistogramOpts::new(
                    "ftgo_order_validation_seconds",
                    "Time from an order's creation until it left PENDING, by outcome \
                     (validated, rejected).",
                )
                // Fine around the usual 0.2–1.5 s (two hops through relays and
                // consumers), coarse up to the 30 s default deadline and beyond.
                .buckets(vec![
                    0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0,
                    5.0, 10.0, 30.0, 60.0,
                ]),
                &["outcome"],
            )?,
            pending: IntGauge::new(
                "ftgo_orders_pending",
                "Orders in state PENDING (database-wide).",
            )?,
            oldest_pending: Gauge::new(
                "ftgo_orders_oldest_pending_age_seconds",
                "Age of the oldest PENDING order, 0 when none (database-wide).",
            )?,
        };
        registry.register(Box::new(metrics.orders.clone()))?;
        registry.register(Box::new(metrics.validation.clone()))?;
        registry.register(Box::new(metrics.pending.clone()))?;
        registry.register(Box::new(metrics.oldest_pending.clone()))?;
        for outcome in Outcome::ALL {
            metrics.orders.with_label_values(&[outcome.label()]);
        }
        for outcome in [Outcome::Validated, Outcome::Rejected] {
            metrics.validation.with_label_values(&[outcome.label()]);
        }
        Ok(metrics)
    }

    /// Counts an order created or cancelled.
    pub fn count(&self, outcome: Outcome) {
        self.orders.with_label_values(&[outcome.label()]).inc();
    }

    /// Counts an order leaving PENDING `age_seconds` after its creation.
    pub fn left_pending(&self, outcome: Outcome, age_seconds: f64) {
        self.count(outcome);
        self.validation
            .with_label_values(&[outcome.label()])
            .observe(age_seconds);
    }

    /// Sets the database-wide pending figures.
    pub fn set_pending(&self, count: i64, oldest_age_seconds: f64) {
        self.pending.set(count);
        self.oldest_pending.set(oldest_age_seconds);
    }
}
