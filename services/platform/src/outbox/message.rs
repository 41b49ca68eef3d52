//! One message on its way out.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::contracts::Contract;
use crate::messaging::format::{Format, MessagingSettings};
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
    /// A contract message with a fresh UUIDv7 id, in the format the process's installed
    /// [`MessagingSettings`] give `destination` (JSON when none are installed).
    pub fn new(
        destination: impl Into<String>,
        key: impl Into<String>,
        message_type: impl Into<String>,
        schema_version: i32,
        payload: &impl Contract,
    ) -> Self {
        let destination = destination.into();
        let format = MessagingSettings::installed_format_for(&destination);
        Self::encoded(
            format,
            destination,
            key,
            message_type,
            schema_version,
            payload,
        )
    }

    /// A contract message in `format`, whatever the settings say.
    pub fn encoded(
        format: Format,
        destination: impl Into<String>,
        key: impl Into<String>,
        message_type: impl Into<String>,
        schema_version: i32,
        payload: &impl Contract,
    ) -> Self {
        Self::with_payload(
            destination.into(),
            key.into(),
            message_type.into(),
            schema_version,
            format,
            payload.encode(format),
        )
    }

    /// A message with any JSON payload, outside the published language (tests, tools).
    pub fn json(
        destination: impl Into<String>,
        key: impl Into<String>,
        message_type: impl Into<String>,
        schema_version: i32,
        payload: &impl serde::Serialize,
    ) -> Self {
        Self::with_payload(
            destination.into(),
            key.into(),
            message_type.into(),
            schema_version,
            Format::Json,
            // Serialising a JSON value cannot fail.
            serde_json::to_vec(payload).unwrap_or_default(),
        )
    }

    fn with_payload(
        destination: String,
        key: String,
        message_type: String,
        schema_version: i32,
        format: Format,
        payload: Vec<u8>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            destination,
            key,
            message_type,
            schema_version,
            headers: BTreeMap::from([(
                headers::CONTENT_TYPE.to_owned(),
                format.content_type().to_owned(),
            )]),
            payload,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::order::OrderStateChanged;

    #[test]
    fn a_message_names_its_format_in_content_type_and_its_payload_is_in_it() {
        let payload = OrderStateChanged {
            order_id: Uuid::now_v7(),
            reason: Some("late".into()),
        };
        for format in Format::ALL {
            let message = OutboxMessage::encoded(format, "order.events", "k", "T", 1, &payload);
            assert_eq!(
                message.headers[headers::CONTENT_TYPE],
                format.content_type()
            );
            assert_eq!(
                OrderStateChanged::decode(format, &message.payload),
                Ok(payload.clone())
            );
        }
        let raw = OutboxMessage::json("t", "k", "T", 1, &serde_json::json!({"a": 1}));
        assert_eq!(raw.headers[headers::CONTENT_TYPE], "application/json");
    }
}
