//! Where records go: the boundary between the relay and the message broker.
//!
//! Like supabase/etl's `Destination`, the pipeline talks to a [`Sink`] and knows nothing
//! of Kafka; [`kafka::KafkaSink`] is the implementation. A sink hands every record to the
//! broker in the order it is given (so one key's records keep commit order) and returns
//! a [`Delivery`] that completes when the broker has acknowledged it, or when it was
//! refused for good and its dead letter was kept whole ([`dead_letter_store`]) and
//! announced on the dead-letter topic.

pub mod dead_letter_store;
pub mod kafka;

use std::future::Future;
use std::pin::Pin;

/// A message ready for the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// Destination topic.
    pub topic: String,
    /// Partition key: the aggregate id. `None` only where Debezium's Outbox Event Router
    /// would publish a null key (a NULL key column), which the relay then matches.
    pub key: Option<String>,
    /// Headers, in order. A `None` value is a header with a null value, as Kafka
    /// Connect writes a NULL column placed in a header.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Payload bytes; `None` is a tombstone (a null value), which compacted topics and
    /// sinks read as a delete (Debezium's `route.tombstone.on.empty.payload`).
    pub payload: Option<Vec<u8>>,
    /// Record timestamp: the source transaction's commit time (ms since the epoch).
    pub timestamp_millis: i64,
}

impl OutboxRecord {
    /// The bytes this record holds (topic, key, headers, payload): what the relay's
    /// in-flight window counts against `relay.max_in_flight_bytes`.
    pub fn size_bytes(&self) -> usize {
        self.topic.len()
            + self.key.as_ref().map_or(0, String::len)
            + headers_bytes(&self.headers)
            + self.payload.as_ref().map_or(0, Vec::len)
    }
}

fn headers_bytes(headers: &[(String, Option<Vec<u8>>)]) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.len() + value.as_ref().map_or(0, Vec::len))
        .sum()
}

/// Where a message was in the source database. It names a dead letter's row in the
/// store, so a letter written again when a session replays is kept once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The WAL position of the outbox row's insert (log tailing).
    Wal(pgwire_replication::Lsn),
    /// The outbox row's `sequence` (polling).
    Sequence(i64),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Wal(lsn) => write!(f, "wal:{lsn}"),
            Self::Sequence(sequence) => write!(f, "sequence:{sequence}"),
        }
    }
}

impl DeadLetter {
    /// The bytes this letter holds (as [`OutboxRecord::size_bytes`]).
    pub fn size_bytes(&self) -> usize {
        self.key.as_ref().map_or(0, String::len)
            + headers_bytes(&self.headers)
            + self.payload.len()
            + self.original_topic.as_ref().map_or(0, String::len)
            + self.reason.len()
    }
}

/// Something that cannot be delivered to its topic, bound for the dead-letter store and
/// topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Key of the original message, if it had one.
    pub key: Option<String>,
    /// The original headers, in order (none for a row that could not be decoded).
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The original payload, or the raw row when it could not be decoded.
    pub payload: Vec<u8>,
    /// The topic it was meant for, if known.
    pub original_topic: Option<String>,
    /// Why it is dead-lettered.
    pub reason: String,
}

/// How a record ended up acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// On its own topic.
    Published,
    /// Kept whole in the dead-letter store, and announced on the dead-letter topic.
    DeadLettered,
}

/// The broker did not acknowledge within this session: unreachable, timed out, or it
/// refused the record for a reason an operator can fix (a topic not created yet, an ACL
/// still missing). The session ends and the next one re-reads from the last confirmed
/// position, so the record keeps its place before the later records of its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Retry {
    /// What kind of failure, for `ftgo_relay_delivery_failures_total{cause}`: one of
    /// [`RETRY_CAUSES`].
    pub cause: &'static str,
    /// What happened, naming the topic where known (for the log).
    pub reason: String,
}

/// Every value of [`Retry::cause`] (bounded metric labels).
pub const RETRY_CAUSES: [&str; 7] = [
    "unknown_topic",
    "authorization",
    "timeout",
    "refused",
    "unreachable",
    "dead_letter_store",
    "other",
];

impl Retry {
    /// A retry of kind `cause` (one of [`RETRY_CAUSES`]).
    pub fn new(cause: &'static str, reason: impl Into<String>) -> Self {
        Self {
            cause,
            reason: reason.into(),
        }
    }
}

/// Completes when the broker acknowledged the record (or its dead letter).
pub type Delivery = Pin<Box<dyn Future<Output = Result<Delivered, Retry>> + Send>>;

/// A message broker the relay publishes to.
pub trait Sink: Send + Sync {
    /// Hands `record` (from `origin`) to the broker; records of one key are delivered in
    /// call order. Waits only while the client's send queue is full.
    fn publish(
        &self,
        record: OutboxRecord,
        origin: Origin,
    ) -> impl Future<Output = Delivery> + Send;

    /// Keeps a dead letter (from `origin`) whole and announces it on the dead-letter
    /// topic.
    fn dead_letter(
        &self,
        letter: DeadLetter,
        origin: Origin,
    ) -> impl Future<Output = Delivery> + Send;

    /// Drops whatever is queued and not yet sent: the session is ending abnormally and
    /// the next one will read those records again, so sending them late could only put
    /// them after their re-sent copies.
    fn abandon(&self);
}
