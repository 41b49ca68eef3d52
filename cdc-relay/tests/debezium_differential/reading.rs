//! Reading what each side published, as the broker holds it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use uuid::Uuid;

/// A record as the broker holds it: bytes and nulls as they are.
#[derive(Debug, Clone)]
pub(super) struct Record {
    /// Without the side's prefix.
    pub(super) topic: String,
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Option<Vec<u8>>,
    pub(super) headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Lists, counts and reads topics by prefix.
pub(super) struct Reader {
    consumer: BaseConsumer,
    bootstrap: String,
}

impl Reader {
    pub(super) fn new(bootstrap: &str) -> Self {
        Self {
            consumer: ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .create()
                .unwrap(),
            bootstrap: bootstrap.to_owned(),
        }
    }

    /// The topics named `prefix…` (without the prefix), with their partition counts.
    pub(super) fn topics(&self, prefix: &str) -> Vec<(String, i32)> {
        let metadata = self
            .consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .unwrap();
        metadata
            .topics()
            .iter()
            .filter_map(|topic| {
                let name = topic.name().strip_prefix(prefix)?;
                Some((name.to_owned(), topic.partitions().len() as i32))
            })
            .collect()
    }

    /// A partition's high watermark; `None` while the broker cannot tell (a topic Connect
    /// has just created may not have its leader yet).
    fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        self.consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(10))
            .ok()
            .map(|(_, high)| high)
    }

    /// Records in the topics named `prefix…`: the sum of their high watermarks (those
    /// not known yet count as none).
    pub(super) fn visible(&self, prefix: &str) -> usize {
        self.topics(prefix)
            .iter()
            .flat_map(|(topic, partitions)| (0..*partitions).map(move |p| (topic, p)))
            .map(|(topic, partition)| {
                self.high_watermark(&format!("{prefix}{topic}"), partition)
                    .unwrap_or(0) as usize
            })
            .sum()
    }

    /// Every record of the topics named `prefix…`, up to the partitions' ends as they
    /// are now, with one consumer: each record's topic is named without `prefix`.
    pub(super) fn read(&self, prefix: &str) -> Vec<Record> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .set("group.id", format!("differential-{}", Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "5")
            .create()
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        let mut ends = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        for (topic, partitions) in self.topics(prefix) {
            let name = format!("{prefix}{topic}");
            for partition in 0..partitions {
                let high = loop {
                    match self.high_watermark(&name, partition) {
                        Some(high) => break high,
                        None if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        None => panic!("no high watermark for {name}/{partition}"),
                    }
                };
                if high > 0 {
                    assignment
                        .add_partition_offset(&name, partition, Offset::Beginning)
                        .unwrap();
                    ends.insert((name.clone(), partition), high);
                }
            }
        }
        let mut records = Vec::new();
        if ends.is_empty() {
            return records;
        }
        consumer.assign(&assignment).unwrap();
        while !ends.is_empty() && Instant::now() < deadline {
            let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let partition = (message.topic().to_owned(), message.partition());
            if ends
                .get(&partition)
                .is_some_and(|end| message.offset() + 1 >= *end)
            {
                ends.remove(&partition);
            }
            records.push(Record {
                topic: message.topic()[prefix.len()..].to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(<[u8]>::to_vec),
                value: message.payload().map(<[u8]>::to_vec),
                headers: message
                    .headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        assert!(ends.is_empty(), "{prefix}: not read to the end: {ends:?}");
        records
    }
}
