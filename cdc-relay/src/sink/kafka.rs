//! The Kafka sink: rdkafka's idempotent producer.
//!
//! Settings that carry the guarantees: `enable.idempotence=true` (no duplicates or
//! reordering from the producer's own retries, at most 5 requests in flight per
//! connection), `acks=all`, and `partitioner=murmur2_random` (the Java client's
//! partitioner, so a key lands on the same partition whichever client produced it).

use std::time::Duration;

use platform::config::KafkaSettings;
use platform::messaging::headers;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer, PurgeConfig};

use super::{DeadLetter, Delivered, Delivery, OutboxRecord, Retry, Sink};
use crate::Result;
use crate::config::RelayOptions;

/// How long to wait before trying again when the producer's queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(1);

/// Dead letters keep at most this much of the original payload, so that a record refused
/// for its size can still be dead-lettered (below librdkafka's 1 MB default limit).
const MAX_DEAD_LETTER_PAYLOAD: usize = 256 * 1024;

/// Publishes to Kafka; refused records go to the dead-letter topic.
#[derive(Clone)]
pub struct KafkaSink {
    producer: FutureProducer,
    dead_letter_topic: String,
    /// `kafka.topic_prefix`, put before every record's topic.
    topic_prefix: String,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("dead_letter_topic", &self.dead_letter_topic)
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// Creates the producer. Connecting happens in the background.
    pub fn new(kafka: &KafkaSettings, options: &RelayOptions, client_id: &str) -> Result<Self> {
        let linger = options.linger_ms.to_string();
        let timeout = options.delivery_timeout_ms.to_string();
        let queue = (options.max_in_flight * 2 + 1_000).to_string();
        let config = kafka.client_config(&[
            ("client.id", client_id),
            ("enable.idempotence", "true"),
            ("acks", "all"),
            ("partitioner", "murmur2_random"),
            ("linger.ms", &linger),
            ("message.timeout.ms", &timeout),
            ("queue.buffering.max.messages", &queue),
        ]);
        let producer = kafka.create(&config, "producer")?;
        Ok(Self {
            producer,
            dead_letter_topic: kafka.topic(&options.dead_letter_topic),
            topic_prefix: kafka.topic_prefix.clone(),
        })
    }

    /// Whether the producer hit a fatal error (e.g. an idempotence violation) and must be
    /// replaced.
    pub fn is_fatal(&self) -> bool {
        self.producer.client().fatal_error().is_some()
    }

    /// Enqueues one record, waiting while the queue is full. A refusal at enqueue time
    /// (e.g. a record larger than `message.max.bytes`) comes back as `Err`.
    async fn enqueue(
        &self,
        topic: &str,
        key: Option<&str>,
        payload: Option<&[u8]>,
        headers: OwnedHeaders,
        timestamp: Option<i64>,
    ) -> std::result::Result<DeliveryFuture, KafkaError> {
        loop {
            let mut record = FutureRecord::to(topic).headers(headers.clone());
            // No payload at all, not an empty one: only that is a null value (tombstone).
            if let Some(payload) = payload {
                record = record.payload(payload);
            }
            if let Some(key) = key {
                record = record.key(key);
            }
            if let Some(timestamp) = timestamp {
                record = record.timestamp(timestamp);
            }
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    fn dead_letter_delivery(&self, letter: DeadLetter, extra: OwnedHeaders) -> Delivery {
        let sink = self.clone();
        Box::pin(async move {
            tracing::warn!(
                reason = %letter.reason,
                topic = letter.original_topic.as_deref().unwrap_or(""),
                "dead-lettering a record"
            );
            let mut headers = extra.insert(Header {
                key: headers::DEAD_LETTER_REASON,
                value: Some(letter.reason.as_bytes()),
            });
            if let Some(topic) = &letter.original_topic {
                headers = headers.insert(Header {
                    key: headers::DEAD_LETTER_ORIGINAL_TOPIC,
                    value: Some(topic.as_bytes()),
                });
            }
            let mut payload = letter.payload;
            if payload.len() > MAX_DEAD_LETTER_PAYLOAD {
                let original = payload.len().to_string();
                headers = headers.insert(Header {
                    key: headers::DEAD_LETTER_PAYLOAD_BYTES,
                    value: Some(original.as_bytes()),
                });
                payload.truncate(MAX_DEAD_LETTER_PAYLOAD);
            }
            let delivery = sink
                .enqueue(
                    &sink.dead_letter_topic,
                    letter.key.as_deref(),
                    Some(&payload),
                    headers,
                    None,
                )
                .await
                .map_err(|e| {
                    Retry::new(
                        retry_cause(&e),
                        format!("dead-letter topic refused a record: {e}"),
                    )
                })?;
            match delivery.await {
                Ok(Ok(_)) => Ok(Delivered::DeadLettered),
                Ok(Err((e, _))) => Err(Retry::new(
                    retry_cause(&e),
                    format!("dead-letter delivery failed: {e}"),
                )),
                Err(_) => Err(Retry::new("other", "producer closed")),
            }
        })
    }
}

/// Errors nothing can fix for this record: it is larger than the broker (or client)
/// takes, or its topic name is not a legal Kafka topic name. Everything else an operator
/// can fix (create the topic, grant the ACL, fix the broker), so it is retried.
fn is_permanent(error: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    let code = match error {
        KafkaError::MessageProduction(code) => *code,
        _ => return false,
    };
    matches!(
        code,
        C::MessageSizeTooLarge | C::InvalidMessageSize | C::InvalidTopic
    )
}

/// The [`Retry::cause`] of a failed send or delivery.
fn retry_cause(error: &KafkaError) -> &'static str {
    use RDKafkaErrorCode as C;
    let Some(code) = error.rdkafka_error_code() else {
        return "other";
    };
    match code {
        C::UnknownTopic | C::UnknownTopicOrPartition | C::UnknownPartition => "unknown_topic",
        C::TopicAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::Authentication
        | C::SaslAuthenticationFailed => "authorization",
        C::MessageTimedOut | C::RequestTimedOut | C::OperationTimedOut => "timeout",
        C::PolicyViolation | C::InvalidRecord | C::InvalidMessage => "refused",
        C::AllBrokersDown | C::BrokerTransportFailure | C::NetworkException => "unreachable",
        _ => "other",
    }
}

/// Rebuilds a dead letter from a record the broker refused.
fn refused(message: &OwnedMessage, error: &KafkaError) -> (DeadLetter, OwnedHeaders) {
    use rdkafka::Message;
    let letter = DeadLetter {
        key: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        payload: message.payload().unwrap_or_default().to_vec(),
        original_topic: Some(message.topic().to_owned()),
        reason: format!("broker refused the record: {error}"),
    };
    let headers = message.headers().cloned().unwrap_or_else(OwnedHeaders::new);
    (letter, headers)
}

fn to_headers(list: &[(String, Option<Vec<u8>>)]) -> OwnedHeaders {
    list.iter()
        .fold(OwnedHeaders::new_with_capacity(list.len()), |h, (k, v)| {
            h.insert(Header {
                key: k,
                value: v.as_deref(),
            })
        })
}

impl Sink for KafkaSink {
    async fn publish(&self, mut record: OutboxRecord) -> Delivery {
        record.topic.insert_str(0, &self.topic_prefix);
        let headers = to_headers(&record.headers);
        let enqueued = self
            .enqueue(
                &record.topic,
                record.key.as_deref(),
                record.payload.as_deref(),
                headers.clone(),
                Some(record.timestamp_millis),
            )
            .await;
        let delivery = match enqueued {
            Ok(delivery) => delivery,
            Err(error) if is_permanent(&error) => {
                let letter = DeadLetter {
                    key: record.key,
                    payload: record.payload.unwrap_or_default(),
                    original_topic: Some(record.topic),
                    reason: format!("producer refused the record: {error}"),
                };
                return self.dead_letter_delivery(letter, headers);
            }
            Err(error) => {
                let retry = Retry::new(
                    retry_cause(&error),
                    format!("cannot enqueue for {}: {error}", record.topic),
                );
                return Box::pin(async move { Err(retry) });
            }
        };
        let sink = self.clone();
        let topic = record.topic;
        Box::pin(async move {
            match delivery.await {
                Ok(Ok(_)) => Ok(Delivered::Published),
                Ok(Err((error, message))) if is_permanent(&error) => {
                    let (letter, headers) = refused(&message, &error);
                    sink.dead_letter_delivery(letter, headers).await
                }
                Ok(Err((error, _))) => Err(Retry::new(
                    retry_cause(&error),
                    format!("delivery to {topic} failed: {error}"),
                )),
                Err(_) => Err(Retry::new("other", "producer closed")),
            }
        })
    }

    async fn dead_letter(&self, letter: DeadLetter) -> Delivery {
        self.dead_letter_delivery(letter, OwnedHeaders::new())
    }

    fn abandon(&self) {
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
    }
}
