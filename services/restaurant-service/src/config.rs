//! The service's settings: `FTGO_*` environment variables over an optional YAML file.

use messaging::MessagingSettings;
use runtime::config::{DatabaseSettings, HttpSettings, KafkaSettings};
use serde::Deserialize;

/// Everything restaurant-service reads at start-up. Unknown keys are refused so a typo in
/// a deployment fails loudly instead of being ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the API, `/metrics`, `/healthz` and `/readyz` are served.
    #[serde(default)]
    pub http: HttpSettings,
    /// The service's own database (`restaurant_service`).
    pub database: DatabaseSettings,
    /// The Kafka cluster carrying commands, replies and events.
    pub kafka: KafkaSettings,
    /// Which format (JSON, Protobuf) each channel this service writes to gets.
    #[serde(default)]
    pub messaging: MessagingSettings,
    /// How the relay reads this database's outbox (`FTGO_OUTBOX__MODE`).
    #[serde(default)]
    pub outbox: outbox::OutboxSettings,
}
