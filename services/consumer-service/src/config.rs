//! The service's settings: `FTGO_*` environment variables over an optional YAML file.

use messaging::MessagingSettings;
use runtime::config::{DatabaseSettings, HttpSettings, KafkaSettings};
use serde::Deserialize;

/// Everything consumer-service reads at start-up. Unknown keys are refused so a typo in
/// a deployment fails loudly instead of being ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the API, `/metrics`, `/healthz` and `/readyz` are served.
    #[serde(default)]
    pub http: HttpSettings,
    /// Where the gRPC server (`ftgo.consumer.v1.ConsumerService`) listens: a port of its
    /// own (9091 in the chart); `0` asks the OS for a free one (tests).
    #[serde(default)]
    pub grpc: HttpSettings,
    /// The service's own database (`consumer_service`).
    pub database: DatabaseSettings,
    /// The Kafka cluster carrying commands and replies.
    pub kafka: KafkaSettings,
    /// Which format (JSON, Protobuf) each channel this service writes to gets.
    #[serde(default)]
    pub messaging: MessagingSettings,
    /// How the relay reads this database's outbox (`FTGO_OUTBOX__MODE`).
    #[serde(default)]
    pub outbox: outbox::OutboxSettings,
}
