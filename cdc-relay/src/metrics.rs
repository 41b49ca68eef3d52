//! The relay's Prometheus metrics, named `ftgo_relay_<noun>_<unit>` with bounded labels.

use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

use crate::Result;

/// Handles to every metric the relay updates.
#[derive(Debug, Clone)]
pub struct RelayMetrics {
    /// Records acknowledged on their own topic.
    pub published: IntCounter,
    /// Records acknowledged on the dead-letter topic.
    pub dead_lettered: IntCounter,
    /// Session-ending errors by stage (`database`, `replication`, `kafka`, `protocol`).
    pub errors: IntCounterVec,
    /// Replication sessions started.
    pub sessions: IntCounter,
    /// 1 while a replication session is streaming.
    pub streaming: IntGauge,
    /// 1 while this replica may stream: it holds the Lease, or leader election is off.
    pub leader: IntGauge,
    /// Records handed to the broker and not yet acknowledged.
    pub in_flight: IntGauge,
    /// Bytes of the messages in flight (log tailing; `relay.max_in_flight_bytes`).
    pub in_flight_bytes: IntGauge,
    /// Server WAL end minus the confirmed position.
    pub lag_bytes: IntGauge,
    /// Age of the oldest unconfirmed transaction (0 when none).
    pub lag_seconds: Gauge,
    /// The last position confirmed to PostgreSQL (as sent in a status update).
    pub confirmed_lsn: IntGauge,
    /// From the source transaction's commit to the broker's acknowledgement.
    pub commit_to_ack: Histogram,
    /// From the source transaction's commit to the relay reading its start from the
    /// stream: the share of [`Self::commit_to_ack`] spent before the relay has it (the
    /// commit's WAL flush, which the WAL sender waits for, then decoding and sending).
    pub commit_to_read: Histogram,
    /// Deliveries that failed and will be retried, by cause (`crate::sink::RETRY_CAUSES`).
    pub delivery_failures: IntCounterVec,
    /// 1 while the relay refuses to recreate a replication slot that vanished.
    pub slot_lost: IntGauge,
}

/// The latency histograms' buckets, in seconds: fine below 50 ms, where the targets are.
const LATENCY_BUCKETS: [f64; 23] = [
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.0125, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075,
    0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl RelayMetrics {
    /// Counts a failed delivery by its cause; the error that ends the session.
    pub fn delivery_failed(&self, retry: crate::sink::Retry) -> crate::Error {
        self.delivery_failures
            .with_label_values(&[retry.cause])
            .inc();
        crate::Error::Delivery {
            cause: retry.cause,
            reason: retry.reason,
        }
    }

    /// Registers the metrics in `registry`.
    pub fn register(registry: &Registry) -> Result<Self> {
        let metrics = Self {
            published: IntCounter::new(
                "ftgo_relay_messages_published_total",
                "Outbox messages acknowledged by the broker on their topic.",
            )
            .map_err(runtime::Error::from)?,
            dead_lettered: IntCounter::new(
                "ftgo_relay_dead_letter_messages_total",
                "Outbox messages acknowledged on the dead-letter topic.",
            )
            .map_err(runtime::Error::from)?,
            errors: IntCounterVec::new(
                Opts::new(
                    "ftgo_relay_errors_total",
                    "Errors that ended a replication session, by stage.",
                ),
                &["stage"],
            )
            .map_err(runtime::Error::from)?,
            sessions: IntCounter::new(
                "ftgo_relay_sessions_started_total",
                "Replication sessions started (1 plus reconnections).",
            )
            .map_err(runtime::Error::from)?,
            streaming: IntGauge::new(
                "ftgo_relay_streaming",
                "1 while the relay streams from its replication slot.",
            )
            .map_err(runtime::Error::from)?,
            leader: IntGauge::new(
                "ftgo_relay_leader",
                "1 while this replica holds the relay Lease (always 1 without leader election).",
            )
            .map_err(runtime::Error::from)?,
            in_flight: IntGauge::new(
                "ftgo_relay_messages_in_flight",
                "Messages handed to the broker and not yet acknowledged.",
            )
            .map_err(runtime::Error::from)?,
            in_flight_bytes: IntGauge::new(
                "ftgo_relay_message_bytes_in_flight",
                "Bytes (topic, key, headers, payload) of the messages handed to the broker and \
                 not yet acknowledged.",
            )
            .map_err(runtime::Error::from)?,
            lag_bytes: IntGauge::new(
                "ftgo_relay_replication_lag_bytes",
                "WAL bytes between the server's WAL end and the confirmed position.",
            )
            .map_err(runtime::Error::from)?,
            lag_seconds: Gauge::new(
                "ftgo_relay_replication_lag_seconds",
                "Age of the oldest committed outbox transaction not yet confirmed.",
            )
            .map_err(runtime::Error::from)?,
            confirmed_lsn: IntGauge::new(
                "ftgo_relay_confirmed_lsn",
                "Last WAL position confirmed to PostgreSQL, as a number.",
            )
            .map_err(runtime::Error::from)?,
            commit_to_ack: Histogram::with_opts(
                HistogramOpts::new(
                    "ftgo_relay_commit_to_ack_seconds",
                    "Time from the source commit to the broker's acknowledgement.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
            )
            .map_err(runtime::Error::from)?,
            commit_to_read: Histogram::with_opts(
                HistogramOpts::new(
                    "ftgo_relay_commit_to_read_seconds",
                    "Time from the source commit to the relay reading the transaction from the stream.",
                )
                .buckets(LATENCY_BUCKETS.to_vec()),
            )
            .map_err(runtime::Error::from)?,
            delivery_failures: IntCounterVec::new(
                Opts::new(
                    "ftgo_relay_delivery_failures_total",
                    "Deliveries that failed and are retried from the last confirmed position, by cause.",
                ),
                &["cause"],
            )
            .map_err(runtime::Error::from)?,
            slot_lost: IntGauge::new(
                "ftgo_relay_slot_lost",
                "1 while the relay refuses to recreate its vanished replication slot (WAL may be lost; an operator decides).",
            )
            .map_err(runtime::Error::from)?,
        };
        for cause in crate::sink::RETRY_CAUSES {
            metrics.delivery_failures.with_label_values(&[cause]);
        }
        let collectors: [Box<dyn prometheus::core::Collector>; 15] = [
            Box::new(metrics.published.clone()),
            Box::new(metrics.dead_lettered.clone()),
            Box::new(metrics.errors.clone()),
            Box::new(metrics.sessions.clone()),
            Box::new(metrics.streaming.clone()),
            Box::new(metrics.leader.clone()),
            Box::new(metrics.in_flight.clone()),
            Box::new(metrics.in_flight_bytes.clone()),
            Box::new(metrics.lag_bytes.clone()),
            Box::new(metrics.lag_seconds.clone()),
            Box::new(metrics.confirmed_lsn.clone()),
            Box::new(metrics.commit_to_ack.clone()),
            Box::new(metrics.commit_to_read.clone()),
            Box::new(metrics.delivery_failures.clone()),
            Box::new(metrics.slot_lost.clone()),
        ];
        for collector in collectors {
            registry.register(collector).map_err(runtime::Error::from)?;
        }
        Ok(metrics)
    }
}
