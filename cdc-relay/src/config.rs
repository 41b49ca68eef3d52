//! The relay's settings: `FTGO_*` environment variables over an optional YAML file.

use platform::config::{DatabaseSettings, HttpSettings, KafkaSettings};
use serde::Deserialize;

/// Everything the relay reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[serde(default)]
    pub http: HttpSettings,
    /// The service database whose outbox is relayed. The role needs `REPLICATION` and
    /// must own the outbox table (to create the publication).
    pub database: DatabaseSettings,
    /// The Kafka cluster.
    pub kafka: KafkaSettings,
    /// Replication and delivery tuning.
    #[serde(default)]
    pub relay: RelayOptions,
}

/// Replication and delivery options; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayOptions {
    /// Logical replication slot name (created if missing); by default
    /// `ftgo_outbox_<database>`, the slot the outbox migration creates.
    pub slot: Option<String>,
    /// Publication name (created if missing, for the outbox table's inserts only).
    pub publication: String,
    /// The outbox table, `schema.table` or `table` (public schema).
    pub table: String,
    /// Topic for records the broker refuses for good, or rows that cannot be decoded.
    pub dead_letter_topic: String,
    /// How often the confirmed position is reported to PostgreSQL at most, in ms.
    pub status_interval_ms: u64,
    /// How long the producer retries one record before the session restarts, in ms.
    pub delivery_timeout_ms: u64,
    /// `linger.ms` of the producer: batching delay.
    pub linger_ms: u64,
    /// Most records awaiting a broker acknowledgement; reading the WAL pauses beyond it.
    pub max_in_flight: usize,
    /// Longest wait between reconnection attempts, in ms.
    pub max_backoff_ms: u64,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            slot: None,
            publication: platform::outbox::schema::PUBLICATION.into(),
            table: "public.outbox".into(),
            dead_letter_topic: platform::messaging::channels::DEAD_LETTER.into(),
            status_interval_ms: 1_000,
            delivery_timeout_ms: 30_000,
            linger_ms: 5,
            max_in_flight: 20_000,
            max_backoff_ms: 10_000,
        }
    }
}

impl RelaySettings {
    /// The replication slot this relay streams from.
    pub fn slot(&self) -> String {
        self.relay
            .slot
            .clone()
            .unwrap_or_else(|| platform::outbox::schema::slot_name(&self.database.name))
    }
}

impl RelayOptions {
    /// `(schema, table)` of the outbox table.
    pub fn table_name(&self) -> (&str, &str) {
        self.table
            .split_once('.')
            .unwrap_or(("public", &self.table))
    }
}
