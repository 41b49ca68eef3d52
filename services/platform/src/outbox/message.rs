//! One message on its way out.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::messaging::headers;

/// A message to publish: where to, under which key, what it is, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Unique id (UUIDv7); consumers deduplicate on it.
    pub id: Uuid,
    /// The channel (Kafka topic).
    pub destination: String,
    /// The aggregate id; becomes the Kafka key, so one aggregate's messages keep order.
    pub key: String,
    /// The message type, e.g. `OrderCreated`.
    pub message_type: String,
    /// Version of the payload schema of this type.
    pub schema_version: i32,
    /// Extra headers (e.g. `traceparent`, `reply-to`, `content-type`).
    pub headers: BTreeMap<String, String>,
    /// The encoded payload.
    pub payload: Vec<u8>,
}

impl OutboxMessage {
    /// A JSON message with a fresh UUIDv7 id.
    pub fn json(
        destination: impl Into<String>,
        key: impl Into<String>,
        message_type: impl Into<String>,
        schema_version: i32,
        payload: &impl serde::Serialize,
    ) -> Self {
        let mut message = Self {
            id: Uuid::now_v7(),
            destination: destination.into(),
            key: key.into(),
            message_type: message_type.into(),
            schema_version,
            headers: BTreeMap::new(),
            // Serialising our own types to JSON cannot fail.
            payload: serde_json::to_vec(payload).unwrap_or_default(),
        };
        message
            .headers
            .insert(headers::CONTENT_TYPE.into(), "application/json".into());
        message
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Propagates a W3C trace context, when the caller has one.
    pub fn with_traceparent(self, traceparent: Option<&str>) -> Self {
        match traceparent {
            Some(value) => self.with_header(headers::TRACEPARENT, value),
            None => self,
        }
    }
}
