//! Kafka header names. The relay sets the first three from the outbox columns; the rest
//! travel in the message's own header map.

/// The message id (UUIDv7), used by consumers to deduplicate.
pub const MESSAGE_ID: &str = "message-id";
/// The message type, e.g. `OrderCreated`.
pub const MESSAGE_TYPE: &str = "message-type";
/// The payload schema version of that type.
pub const SCHEMA_VERSION: &str = "schema-version";
/// The payload encoding, e.g. `application/json`.
pub const CONTENT_TYPE: &str = "content-type";
/// W3C trace context of the request that caused the message.
pub use runtime::telemetry::TRACEPARENT;
/// On a command: the channel its reply must go to (`<service>.replies`).
pub const REPLY_TO: &str = "reply-to";
/// On a reply: the id that correlates it with its command (the order id).
pub const CORRELATION_ID: &str = "correlation-id";
/// Set on dead-lettered records: why the record could not be delivered or handled.
pub const DEAD_LETTER_REASON: &str = "dead-letter-reason";
/// Set on dead-lettered records: the topic the record was meant for or came from.
pub const DEAD_LETTER_ORIGINAL_TOPIC: &str = "dead-letter-original-topic";
/// Set on the relay's dead-letter notices: the table keeping the original whole
/// (`schema.table` in the source database).
pub const DEAD_LETTER_TABLE: &str = "dead-letter-table";
/// Set on the relay's dead-letter notices: the original's row in [`DEAD_LETTER_TABLE`].
pub const DEAD_LETTER_ID: &str = "dead-letter-id";
/// Set on dead-lettered records whose payload was cut to fit: the original size in bytes.
pub const DEAD_LETTER_PAYLOAD_BYTES: &str = "dead-letter-payload-bytes";
