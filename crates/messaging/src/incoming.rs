//! A message as a handler sees it.

use std::collections::BTreeMap;

use rdkafka::Message;
use rdkafka::message::Headers;
use uuid::Uuid;

use contracts::{Contract, Format};
use outbox::headers;

/// A consumed message with its envelope decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMessage {
    /// Message id (from the `message-id` header).
    pub id: Uuid,
    /// Topic it was read from.
    pub topic: String,
    /// Kafka key: the aggregate id.
    pub key: Option<String>,
    /// `message-type` header.
    pub message_type: String,
    /// `schema-version` header.
    pub schema_version: i32,
    /// Every header, as UTF-8 (lossy).
    pub headers: BTreeMap<String, String>,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// Why a message was not handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlingError {
    /// It can never be handled (unknown type or version, undecodable payload): it goes
    /// to the dead-letter topic with this reason and the consumer moves on.
    #[error("poison message: {0}")]
    Poison(String),
    /// It failed for a passing reason (database unavailable, a permission revoked, a
    /// deadlock): it is retried with backoff until it succeeds or the service stops.
    #[error("retry: {0}")]
    Retry(String),
    /// It failed in a way that repeats for this message (a constraint its data violates,
    /// a data exception from its payload): it is tried a few times more, in case the
    /// cause passes after all, then dead-lettered with the reason, so it cannot block
    /// its partition for good.
    #[error("failed: {0}")]
    Failed(String),
}

impl From<tokio_postgres::Error> for HandlingError {
    /// Data exceptions (SQLSTATE class 22) and integrity constraint violations (23) come
    /// from what the message carries: [`HandlingError::Failed`]. Everything else
    /// (connection loss, privileges, serialization failures, shutdowns, a missing
    /// relation an operator will create) may pass: [`HandlingError::Retry`].
    fn from(e: tokio_postgres::Error) -> Self {
        let reason = runtime::error::describe_postgres(&e);
        let class = e.code().map(|code| &code.code()[..2]);
        if matches!(class, Some("22" | "23")) {
            Self::Failed(reason)
        } else {
            Self::Retry(reason)
        }
    }
}

impl From<runtime::Error> for HandlingError {
    /// A database error keeps its classification; anything else (no pooled connection)
    /// may pass.
    fn from(e: runtime::Error) -> Self {
        match e {
            runtime::Error::Database(e) => e.into(),
            other => Self::Retry(other.to_string()),
        }
    }
}

impl From<crate::Error> for HandlingError {
    /// Writing the outbox or committing keeps the database's classification; a message
    /// that cannot be encoded fails the same way each time.
    fn from(e: crate::Error) -> Self {
        match e {
            crate::Error::Database(e) => e.into(),
            crate::Error::Outbox(outbox::Error::Database(e)) => e.into(),
            crate::Error::Encode(e) => Self::Failed(e.to_string()),
            other => Self::Retry(other.to_string()),
        }
    }
}

/// Every header as `(key, value)`, values as UTF-8 (lossy).
///
/// rdkafka 0.39 panics on a header key that is not UTF-8 (`try_get` unwraps
/// `CStr::to_str`), and any producer can send one; the panic is caught here so such a
/// message is poison (dead-lettered) instead of taking the consumer down.
pub(crate) fn read_headers<M: Message>(
    message: &M,
) -> Result<Vec<(String, String)>, HandlingError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }))
    .map_err(|_| HandlingError::Poison("a header key is not UTF-8".into()))
}

impl IncomingMessage {
    /// Decodes the envelope; a message without a valid id, type or version is poison.
    /// Generic over rdkafka's [`Message`] so any bytes can be fed to it in tests.
    pub fn from_kafka<M: Message>(message: &M) -> Result<Self, HandlingError> {
        let headers: BTreeMap<String, String> = read_headers(message)?.into_iter().collect();
        let required = |name: &str| {
            headers
                .get(name)
                .cloned()
                .ok_or_else(|| HandlingError::Poison(format!("missing header {name}")))
        };
        let id = required(headers::MESSAGE_ID)?
            .parse()
            .map_err(|_| HandlingError::Poison("header message-id is not a UUID".into()))?;
        let message_type = required(headers::MESSAGE_TYPE)?;
        let schema_version = required(headers::SCHEMA_VERSION)?
            .parse()
            .map_err(|_| HandlingError::Poison("header schema-version is not a number".into()))?;
        Ok(Self {
            id,
            topic: message.topic().to_owned(),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            message_type,
            schema_version,
            headers,
            payload: message.payload().unwrap_or_default().to_vec(),
        })
    }

    /// The payload decoded in the format its `content-type` header names (JSON when it
    /// has none). An unknown content type or an undecodable payload is poison, with the
    /// reason (for JSON, the path of the offending field).
    pub fn decode<T: Contract>(&self) -> Result<T, HandlingError> {
        let poison = |reason: String| {
            HandlingError::Poison(format!(
                "{} v{} payload invalid: {reason}",
                self.message_type, self.schema_version
            ))
        };
        let format =
            Format::from_content_type(self.header(headers::CONTENT_TYPE)).map_err(poison)?;
        T::decode(format, &self.payload).map_err(poison)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
