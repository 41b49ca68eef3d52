//! order-service settings: `FTGO_*` environment over an optional YAML file.

use messaging::MessagingSettings;
use outbox::OutboxSettings;
use resilient_client::ClientSettings;
use runtime::config::{DatabaseSettings, HttpSettings, KafkaSettings};
use serde::Deserialize;

/// Everything order-service reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the API and `/metrics` are served.
    #[serde(default)]
    pub http: HttpSettings,
    /// The order database.
    pub database: DatabaseSettings,
    /// The Kafka cluster.
    pub kafka: KafkaSettings,
    /// Which format (JSON, Protobuf) each channel this service writes to gets.
    #[serde(default)]
    pub messaging: MessagingSettings,
    /// How the relay reads this database's outbox (`FTGO_OUTBOX__MODE`).
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// consumer-service, found by DNS name (in Kubernetes its Service), for
    /// `GET /v1/orders/{id}?expand=consumer`: `transport` `rest` (default, `base_url`) or
    /// `grpc` (`grpc_url`).
    pub consumer_service: ClientSettings,
    /// Order workflow options.
    #[serde(default)]
    pub orders: OrderOptions,
}

/// Order workflow options; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrderOptions {
    /// How long validation may take before a PENDING order is REJECTED, in ms.
    pub validation_deadline_ms: u64,
    /// How often overdue orders are looked for, in ms.
    pub sweep_interval_ms: u64,
    /// How long placing an order waits for a restaurant the menu replica does not know
    /// yet (created a moment ago: its event takes ~0.2 s to arrive), in ms. Past it the
    /// order is accepted unpriced and priced when the restaurant arrives; 0 accepts at
    /// once.
    pub replica_wait_ms: u64,
}

impl Default for OrderOptions {
    fn default() -> Self {
        Self {
            validation_deadline_ms: 30_000,
            sweep_interval_ms: 1_000,
            replica_wait_ms: 1_000,
        }
    }
}
