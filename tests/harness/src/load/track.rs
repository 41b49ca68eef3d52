//! Following orders to their end on `order.events`, where order-service announces each
//! order's creation and outcome (through its outbox and relay). The relay stamps every
//! record with its transaction's commit time, so the time from an order's creation to
//! its outcome is commit to commit, the figure docs/benchmarks.md reports, and reading
//! it costs the system nothing (no polling of the API).

use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::stack::KafkaTarget;

/// order-service's event channel (`contracts::order::EVENTS`).
const ORDER_EVENTS: &str = "order.events";

/// What an `order.events` record says happened to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `OrderCreated`.
    Created,
    /// `OrderValidated`.
    Validated,
    /// `OrderRejected`, with its payload (which holds the reason).
    Rejected(Vec<u8>),
}

/// One step of one order, as read from `order.events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The order (the record's key).
    pub order: Uuid,
    /// What happened.
    pub step: Step,
    /// The record's timestamp: its transaction's commit time, ms since the Unix epoch.
    pub at_ms: i64,
}

/// Reads `order.events` from where it ended when started; stops when dropped.
#[derive(Debug)]
pub struct Tracker {
    seen: mpsc::UnboundedReceiver<Seen>,
    task: JoinHandle<()>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Tracker {
    /// Starts reading every partition of `order.events` (with `kafka`'s topic prefix)
    /// from its current end: everything an order placed after this returns makes is
    /// read.
    pub async fn start(kafka: &KafkaTarget) -> Result<Self> {
        let topic = format!("{}{ORDER_EVENTS}", kafka.topic_prefix);
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &kafka.bootstrap)
            .set("group.id", format!("ftgo-load-{}", Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "10")
            .create()?;
        // The ends are asked for now, not left to `Offset::End`: that is resolved when
        // fetching starts, after orders may already have been placed.
        let (consumer, assignment) = tokio::task::spawn_blocking(move || {
            let assignment = ends(&consumer, &topic)?;
            Ok::<_, Error>((consumer, assignment))
        })
        .await
        .map_err(|e| Error::Load(format!("reading {ORDER_EVENTS}: {e}")))??;
        consumer.assign(&assignment)?;
        let (sender, seen) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                // Errors (a broker restarting) pass: librdkafka reconnects by itself.
                let Ok(message) = consumer.recv().await else {
                    continue;
                };
                if let Some(seen) = parse(&message)
                    && sender.send(seen).is_err()
                {
                    return;
                }
            }
        });
        Ok(Self { seen, task })
    }

    /// The next step read.
    pub async fn next(&mut self) -> Option<Seen> {
        self.seen.recv().await
    }
}

/// Every partition of `topic` at its current end.
fn ends(consumer: &StreamConsumer, topic: &str) -> Result<TopicPartitionList> {
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (_, high) = consumer.fetch_watermarks(topic, partition.id(), timeout)?;
        assignment.add_partition_offset(topic, partition.id(), Offset::Offset(high))?;
    }
    if assignment.count() == 0 {
        return Err(Error::Load(format!(
            "topic {topic} has no partitions: is order-service running on this broker?"
        )));
    }
    Ok(assignment)
}

/// The step a record announces; `None` for other records (cancellations, or a record
/// without a key, type or timestamp).
fn parse(message: &impl Message) -> Option<Seen> {
    let order = std::str::from_utf8(message.key()?).ok()?.parse().ok()?;
    let kind = message
        .headers()?
        .iter()
        .find(|h| h.key == "message-type")?
        .value?;
    let step = match kind {
        b"OrderCreated" => Step::Created,
        b"OrderValidated" => Step::Validated,
        b"OrderRejected" => Step::Rejected(message.payload().unwrap_or_default().to_vec()),
        _ => return None,
    };
    Some(Seen {
        order,
        step,
        at_ms: message.timestamp().to_millis()?,
    })
}
