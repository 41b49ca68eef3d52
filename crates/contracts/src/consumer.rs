//! Messages consumer-service receives and sends.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// consumer-service's point-to-point command channel.
pub const COMMANDS: &str = "consumer-service.commands";

/// Command: check that the consumer may place this order.
pub const VALIDATE_CONSUMER_INFO: &str = "ValidateConsumerInfo";
/// Reply: the consumer may place the order.
pub const CONSUMER_VALIDATED: &str = "ConsumerValidated";
/// Reply: the consumer may not place the order.
pub const CONSUMER_REJECTED: &str = "ConsumerRejected";

/// Payload of [`VALIDATE_CONSUMER_INFO`]; key: the consumer id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateConsumerInfo {
    /// The order being validated (correlation).
    pub order_id: Uuid,
    /// The consumer placing it.
    pub consumer_id: Uuid,
    /// The order's total, for a spending limit.
    pub order_total_cents: i64,
}

/// Payload of [`CONSUMER_VALIDATED`] and [`CONSUMER_REJECTED`]; key: the order id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerValidation {
    /// The order validated.
    pub order_id: Uuid,
    /// The consumer.
    pub consumer_id: Uuid,
    /// Why it was rejected (absent when validated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
