//! Reading topics back in tests: every record, with partition, offset, key and headers.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::error::Result;

/// A record as read from the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRecord {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// Key, as UTF-8.
    pub key: Option<String>,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// Headers as UTF-8 strings (lossy), by name.
    pub headers: BTreeMap<String, String>,
    /// The record's timestamp in ms since the Unix epoch (create or log-append time), if
    /// it has one. The CDC relay sets it to the source transaction's commit time.
    pub timestamp: Option<i64>,
}

impl ReceivedRecord {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Reads topics from the beginning of every partition (no consumer group).
pub struct TopicReader {
    consumer: BaseConsumer,
    records: Vec<ReceivedRecord>,
    /// Cut from each record's topic (a stack's prefix on a shared broker).
    prefix: String,
    /// Per (Kafka topic, partition): the offset after the last record read.
    next_offsets: HashMap<(String, i32), i64>,
}

impl std::fmt::Debug for TopicReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicReader")
            .field("records", &self.records.len())
            .finish()
    }
}

impl TopicReader {
    /// Assigns every partition of `topics`, from the earliest offset.
    pub fn new(bootstrap: &str, topics: &[&str]) -> Result<Self> {
        Self::with_prefix(bootstrap, "", topics)
    }

    /// Assigns every partition of `prefix` + each of `channels`, from the earliest
    /// offset; records name their channel (the topic without `prefix`).
    pub fn with_prefix(bootstrap: &str, prefix: &str, channels: &[&str]) -> Result<Self> {
        let topics: Vec<String> = channels.iter().map(|c| format!("{prefix}{c}")).collect();
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("reader-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "5")
            .create()?;
        let mut assignment = TopicPartitionList::new();
        for topic in &topics {
            let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
            for t in metadata.topics() {
                for p in t.partitions() {
                    assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
                }
            }
        }
        consumer.assign(&assignment)?;
        Ok(Self {
            consumer,
            records: Vec::new(),
            prefix: prefix.to_owned(),
            next_offsets: HashMap::new(),
        })
    }

    /// Reads until `done(all records so far)` holds or `within` passes; returns all
    /// records read so far (also on time-out, for the caller's assertion message).
    pub fn read_until(
        &mut self,
        within: Duration,
        done: impl Fn(&[ReceivedRecord]) -> bool,
    ) -> &[ReceivedRecord] {
        let deadline = Instant::now() + within;
        // `done` may cost O(records): ask it when the stream pauses or every 1,000 new
        // records, not after each one.
        let mut checked: Option<usize> = None;
        let mut idle = true;
        loop {
            let len = self.records.len();
            let due = match checked {
                None => true,
                Some(at) => len != at && (idle || len - at >= 1_000),
            };
            if due {
                checked = Some(len);
                if done(&self.records) {
                    break;
                }
            }
            if Instant::now() > deadline {
                break;
            }
            idle = !self.poll_one();
        }
        &self.records
    }

    /// Reads on until every assigned partition is read up to its end as it is now (its
    /// high watermark), or `within` passes: what [`Self::read_until`] stopped short of,
    /// such as a late duplicate on another partition, is read too. Returns every record
    /// read so far.
    pub fn read_to_end(&mut self, within: Duration) -> Result<&[ReceivedRecord]> {
        let mut ends = Vec::new();
        for element in self.consumer.assignment()?.elements() {
            let (_, high) = self.consumer.fetch_watermarks(
                element.topic(),
                element.partition(),
                Duration::from_secs(10),
            )?;
            ends.push(((element.topic().to_owned(), element.partition()), high));
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline
            && !ends.iter().all(|(partition, high)| {
                self.next_offsets.get(partition).copied().unwrap_or(0) >= *high
            })
        {
            self.poll_one();
        }
        Ok(&self.records)
    }

    /// Polls once (up to 100 ms); `true` if a record arrived.
    fn poll_one(&mut self) -> bool {
        let Some(Ok(message)) = self.consumer.poll(Duration::from_millis(100)) else {
            return false;
        };
        self.next_offsets.insert(
            (message.topic().to_owned(), message.partition()),
            message.offset() + 1,
        );
        self.records.push(ReceivedRecord {
            topic: message
                .topic()
                .strip_prefix(self.prefix.as_str())
                .unwrap_or(message.topic())
                .to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers: message
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
                .unwrap_or_default(),
            timestamp: message.timestamp().to_millis(),
        });
        true
    }

    /// Everything read so far.
    pub fn records(&self) -> &[ReceivedRecord] {
        &self.records
    }
}
