//! The Kafka sink: rdkafka's idempotent producer.
//!
//! Settings that carry the guarantees: `enable.idempotence=true` (no duplicates or
//! reordering from the producer's own retries, at most 5 requests in flight per
//! connection), `acks=all`, `partitioner=murmur2_random` (the Java client's partitioner,
//! so a key lands on the same partition whichever client produced it), and no gaps:
//! `message.timeout.ms=0` (a record waits for the broker as long as it takes, as Kafka
//! Connect's source producers do) with `enable.gapless.guarantee=true` (any other error
//! that would leave a gap stops the producer, which the relay then replaces). Without
//! them a batch that failed (a broker killed mid-stream, seen in CI) let the producer bump
//! its epoch and deliver the records behind it; the session's replay then published the
//! failed ones after them, out of commit order.

use std::sync::Arc;
use std::time::Duration;

use outbox::headers;
use rdkafka::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer, PurgeConfig};
use runtime::config::KafkaSettings;

use super::dead_letter_store::DeadLetterStore;
use super::{DeadLetter, Delivered, Delivery, Origin, OutboxRecord, Retry, Sink};
use crate::Result;
use crate::config::{RelayOptions, RelaySettings};

/// How long to wait before trying again when the producer's queue is full.
const QUEUE_FULL_PAUSE: Duration = Duration::from_millis(1);

/// A dead letter's notice on the topic carries at most this much of the original payload
/// (below librdkafka's 1 MB default limit); the whole original is in the store, which the
/// notice names.
const MAX_NOTICE_PAYLOAD: usize = 256 * 1024;

/// Publishes to Kafka; records refused for good are kept in the dead-letter store and
/// announced on the dead-letter topic.
#[derive(Clone)]
pub struct KafkaSink {
    producer: FutureProducer,
    dead_letters: Arc<DeadLetterStore>,
    dead_letter_topic: String,
    /// `kafka.topic_prefix`, put before every record's topic.
    topic_prefix: String,
}

/// The relay's producer settings (the guarantees in this module's documentation, then
/// `kafka.properties`). Public so that the relay benchmark's bare-produce yardstick
/// builds its producer with exactly these, rather than a copy that could drift.
pub fn producer_config(
    kafka: &KafkaSettings,
    options: &RelayOptions,
    client_id: &str,
) -> ClientConfig {
    let linger = options.linger_ms.to_string();
    let queue = (options.max_in_flight * 2 + 1_000).to_string();
    kafka.client_config(&[
        ("client.id", client_id),
        ("enable.idempotence", "true"),
        ("acks", "all"),
        ("partitioner", "murmur2_random"),
        ("linger.ms", &linger),
        ("message.timeout.ms", "0"),
        ("enable.gapless.guarantee", "true"),
        ("queue.buffering.max.messages", &queue),
    ])
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("dead_letter_topic", &self.dead_letter_topic)
            .finish_non_exhaustive()
    }
}

impl KafkaSink {
    /// Creates the producer, and the dead-letter store in the outbox table's schema.
    /// Connecting happens in the background (the store's on its first letter).
    pub fn new(settings: &RelaySettings, client_id: &str) -> Result<Self> {
        let (kafka, options) = (&settings.kafka, &settings.relay);
        let producer = kafka.create(&producer_config(kafka, options, client_id), "producer")?;
        Ok(Self {
            producer,
            dead_letters: Arc::new(DeadLetterStore::new(
                &settings.database,
                options.table_name().0,
            )),
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
    /// (e.g. a record larger than `message.max.bytes`) comes back as `Err`. The record
    /// (and so its headers, which librdkafka holds as a list of its own) is built once:
    /// a full queue hands it back to be offered again.
    async fn enqueue(
        &self,
        topic: &str,
        key: Option<&str>,
        payload: Option<&[u8]>,
        headers: OwnedHeaders,
        timestamp: Option<i64>,
    ) -> std::result::Result<DeliveryFuture, KafkaError> {
        let mut record = FutureRecord::to(topic).headers(headers);
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
        loop {
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), refused)) => {
                    record = refused;
                    tokio::time::sleep(QUEUE_FULL_PAUSE).await;
                }
                Err((error, _)) => return Err(error),
            }
        }
    }

    /// Keeps `letter` whole in the store, then announces it on the dead-letter topic:
    /// with its headers and (up to [`MAX_NOTICE_PAYLOAD`] of) its payload, or, when the
    /// topic refuses that for good (the headers alone too large), with only the reason
    /// and the store's row. Only a failure that can pass (the store or the broker
    /// unreachable) is a [`Retry`]; a refusal of even the bare notice is logged, the
    /// original being safe in the store, so no record can hold the relay up forever.
    fn dead_letter_delivery(&self, letter: DeadLetter, origin: Origin) -> Delivery {
        let sink = self.clone();
        Box::pin(async move {
            let id = sink.dead_letters.keep(&letter, &origin).await?;
            let table = sink.dead_letters.table();
            tracing::warn!(
                reason = %letter.reason,
                topic = letter.original_topic.as_deref().unwrap_or(""),
                %origin,
                table,
                id,
                "dead-lettered a record: kept whole in the table, announced on the topic"
            );
            let refusal = match sink.announce(&letter, id, true).await {
                Ok(()) => return Ok(Delivered::DeadLettered),
                Err(e) if is_permanent(&e) => e,
                Err(e) => return Err(dead_letter_retry(&e)),
            };
            tracing::warn!(error = %refusal, id, "dead-letter topic refused the notice with the original; announcing it bare");
            match sink.announce(&letter, id, false).await {
                Ok(()) => Ok(Delivered::DeadLettered),
                Err(e) if is_permanent(&e) => {
                    tracing::error!(
                        error = %e,
                        table,
                        id,
                        "dead-letter topic refused even the bare notice: the record is only in the table"
                    );
                    Ok(Delivered::DeadLettered)
                }
                Err(e) => Err(dead_letter_retry(&e)),
            }
        })
    }

    /// Sends the notice of the letter kept as row `id`; `with_original` adds its
    /// headers and payload (cut to [`MAX_NOTICE_PAYLOAD`]).
    async fn announce(
        &self,
        letter: &DeadLetter,
        id: i64,
        with_original: bool,
    ) -> std::result::Result<(), KafkaError> {
        let mut headers = if with_original {
            to_headers(&letter.headers)
        } else {
            OwnedHeaders::new()
        };
        let id = id.to_string();
        let size = letter.payload.len().to_string();
        let mut notice: Vec<(&str, &[u8])> = vec![
            (headers::DEAD_LETTER_REASON, letter.reason.as_bytes()),
            (
                headers::DEAD_LETTER_TABLE,
                self.dead_letters.table().as_bytes(),
            ),
            (headers::DEAD_LETTER_ID, id.as_bytes()),
        ];
        if let Some(topic) = &letter.original_topic {
            notice.push((headers::DEAD_LETTER_ORIGINAL_TOPIC, topic.as_bytes()));
        }
        let payload = if with_original {
            &letter.payload[..letter.payload.len().min(MAX_NOTICE_PAYLOAD)]
        } else {
            &[]
        };
        if payload.len() < letter.payload.len() {
            notice.push((headers::DEAD_LETTER_PAYLOAD_BYTES, size.as_bytes()));
        }
        for (key, value) in notice {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        let delivery = self
            .enqueue(
                &self.dead_letter_topic,
                letter.key.as_deref(),
                Some(payload),
                headers,
                None,
            )
            .await?;
        match delivery.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((e, _))) => Err(e),
            Err(_) => Err(KafkaError::Canceled),
        }
    }
}

fn dead_letter_retry(error: &KafkaError) -> Retry {
    Retry::new(
        retry_cause(error),
        format!("dead-letter delivery failed: {error}"),
    )
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
fn refused(message: &OwnedMessage, error: &KafkaError) -> DeadLetter {
    use rdkafka::Message;
    use rdkafka::message::Headers;
    DeadLetter {
        key: message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned()),
        headers: message.headers().map_or_else(Vec::new, |headers| {
            headers
                .iter()
                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                .collect()
        }),
        payload: message.payload().unwrap_or_default().to_vec(),
        original_topic: Some(message.topic().to_owned()),
        reason: format!("broker refused the record: {error}"),
    }
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
    async fn publish(&self, mut record: OutboxRecord, origin: Origin) -> Delivery {
        record.topic.insert_str(0, &self.topic_prefix);
        if let Some(reason) = self.dead_letters.refused_before(&origin) {
            // Replayed after its refusal stopped the producer: not offered again.
            let letter = DeadLetter {
                key: record.key,
                headers: record.headers,
                payload: record.payload.unwrap_or_default(),
                original_topic: Some(record.topic),
                reason,
            };
            return self.dead_letter_delivery(letter, origin);
        }
        let headers = to_headers(&record.headers);
        let enqueued = self
            .enqueue(
                &record.topic,
                record.key.as_deref(),
                record.payload.as_deref(),
                headers,
                Some(record.timestamp_millis),
            )
            .await;
        let delivery = match enqueued {
            Ok(delivery) => delivery,
            Err(error) if is_permanent(&error) => {
                let letter = DeadLetter {
                    key: record.key,
                    headers: record.headers,
                    payload: record.payload.unwrap_or_default(),
                    original_topic: Some(record.topic),
                    reason: format!("producer refused the record: {error}"),
                };
                return self.dead_letter_delivery(letter, origin);
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
                    sink.dead_letter_delivery(refused(&message, &error), origin)
                        .await
                }
                Ok(Err((error, _))) => Err(Retry::new(
                    retry_cause(&error),
                    format!("delivery to {topic} failed: {error}"),
                )),
                Err(_) => Err(Retry::new("other", "producer closed")),
            }
        })
    }

    async fn dead_letter(&self, letter: DeadLetter, origin: Origin) -> Delivery {
        self.dead_letter_delivery(letter, origin)
    }

    fn abandon(&self) {
        self.producer
            .purge(PurgeConfig::default().queue().inflight());
    }
}
