//! Channel names. Kafka topics play three roles (Microservices Patterns, ch. 3):
//!
//! - **point-to-point command channels** `<service>.commands`: one consumer group, the
//!   receiving service's, so each command is handled once;
//! - **publish-subscribe event channels** `<aggregate>.events`: every interested service
//!   subscribes with its own group;
//! - **reply channels** `<service>.replies`: the sender names it in the command's
//!   `reply-to` header and correlates replies by `correlation-id`.

/// Where messages go that can never be delivered or handled, with the reason in the
/// `dead-letter-reason` header (the relay's and the consumers' default).
pub const DEAD_LETTER: &str = "ftgo.dead-letter";

/// Commands for `service`.
pub fn commands(service: &str) -> String {
    format!("{service}.commands")
}

/// Events about `aggregate` (e.g. `order`, `restaurant`).
pub fn events(aggregate: &str) -> String {
    format!("{aggregate}.events")
}

/// Replies to `service`.
pub fn replies(service: &str) -> String {
    format!("{service}.replies")
}
