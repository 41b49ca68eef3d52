//! Dead-lettering on the consuming side: a message no handler can ever process is
//! copied to the dead-letter topic with the reason, then acknowledged.

use std::time::Duration;

use tokio::sync::watch;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use outbox::headers;
use runtime::config::KafkaSettings;

use crate::Result;

/// Produces dead letters; it retries until the broker acknowledges (or the service
/// stops), so a poison message is never dropped on the floor.
#[derive(Clone)]
pub struct DeadLetterProducer {
    producer: FutureProducer,
    topic: String,
}

impl std::fmt::Debug for DeadLetterProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterProducer")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DeadLetterProducer {
    /// An idempotent producer for dead-letter channel `topic` (the Kafka topic carries
    /// `kafka.topic_prefix`).
    pub fn new(kafka: &KafkaSettings, topic: &str) -> Result<Self> {
        let config = kafka.client_config(&[("enable.idempotence", "true"), ("acks", "all")]);
        let producer = kafka.create(&config, "producer")?;
        Ok(Self {
            producer,
            topic: kafka.topic(topic),
        })
    }

    /// Sends a copy of a message with the reason; returns `true` once the broker
    /// acknowledged, retrying with backoff until then, or `false` if `stop` turns true
    /// first (the message then stays unacknowledged where it came from).
    pub async fn send(
        &self,
        original_topic: &str,
        key: Option<&[u8]>,
        payload: &[u8],
        original_headers: &[(String, String)],
        reason: &str,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut headers = OwnedHeaders::new_with_capacity(original_headers.len() + 2);
            for (k, v) in original_headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            headers = headers
                .insert(Header {
                    key: headers::DEAD_LETTER_REASON,
                    value: Some(reason.as_bytes()),
                })
                .insert(Header {
                    key: headers::DEAD_LETTER_ORIGINAL_TOPIC,
                    value: Some(original_topic.as_bytes()),
                });
            let mut record = FutureRecord::to(&self.topic)
                .payload(payload)
                .headers(headers);
            if let Some(key) = key {
                record = record.key(key);
            }
            let sent = tokio::select! {
                sent = self.producer.send(record, Duration::from_secs(10)) => sent,
                _ = stop.wait_for(|stop| *stop) => return false,
            };
            match sent {
                Ok(_) => return true,
                Err((e, _)) => {
                    tracing::error!(error = %e, "dead-letter send failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.wait_for(|stop| *stop) => return false,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
