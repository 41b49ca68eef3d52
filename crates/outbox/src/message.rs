//! One message on its way out, as the outbox table holds it.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::headers;

/// A message to publish: where to, under which key, what it is, and its encoded bytes.
///
/// Encoding a message type of the published language is the `messaging` crate's work
/// (`messaging::Outbox::message`, in the format the deployment gives the channel); this is
/// the row that results, which is all the relay's contract knows.
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
    /// A message with a fresh UUIDv7 id whose `payload` is encoded as `content_type` says
    /// (named in the `content-type` header, so consumers decode whichever arrives).
    pub fn new(
        destination: impl Into<String>,
        key: impl Into<String>,
        message_type: impl Into<String>,
        schema_version: i32,
        content_type: &str,
        payload: Vec<u8>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            destination: destination.into(),
            key: key.into(),
            message_type: message_type.into(),
            schema_version,
            headers: BTreeMap::from([(headers::CONTENT_TYPE.to_owned(), content_type.to_owned())]),
            payload,
        }
    }

    /// A message with any JSON payload, outside the published language (tests, tools).
    pub fn json(
        destination: impl Into<String>,
        key: impl Into<String>,
        message_type: impl Into<String>,
        schema_version: i32,
        payload: &serde_json::Value,
    ) -> Self {
        // A `Value`'s text form is its JSON: rendering it cannot fail.
        let payload = payload.to_string().into_bytes();
        Self::new(
            destination,
            key,
            message_type,
            schema_version,
            "application/json",
            payload,
        )
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

    /// The headers as the `jsonb` object the `headers` column holds.
    pub(crate) fn headers_json(&self) -> serde_json::Value {
        // A map of strings to strings is a JSON object of strings: nothing to fail.
        serde_json::Value::Object(
            self.headers
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_names_its_content_type_and_keeps_its_headers_as_a_json_object() {
        let message = OutboxMessage::json("t", "k", "T", 1, &serde_json::json!({"a": 1}))
            .with_traceparent(Some("00-abc-def-01"));
        assert_eq!(message.headers[headers::CONTENT_TYPE], "application/json");
        assert_eq!(message.payload, br#"{"a":1}"#);
        assert_eq!(
            message.headers_json(),
            serde_json::json!({"content-type": "application/json", "traceparent": "00-abc-def-01"})
        );
    }
}
