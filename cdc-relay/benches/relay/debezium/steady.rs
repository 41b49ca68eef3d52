//! The steady load through each side in turn (Debezium's worker kept from the last
//! round, then a relay on a fresh slot): commit -> record visible, as a consumer of the
//! topic sees it, the same way for both.

use std::time::{Duration, Instant};

use anyhow::bail;
use ftgo_harness::measure::{CpuUse, PhaseMeter, percentile};
use ftgo_harness::{ServiceDatabase, Stack};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::drains::Pids;
use crate::database::{Committing, Layout, paced_commits};
use crate::{PARTITIONS, STEADY_RATE, STEADY_WRITERS};

/// One side at the steady load.
#[derive(Debug, Default)]
pub(super) struct Steady {
    pub(super) transactions: usize,
    pub(super) seconds: f64,
    /// Commit -> record visible, as the consumer saw it, ms.
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) max_ms: f64,
    pub(super) seen: usize,
    /// Client-side commit duration, ms.
    pub(super) commit_p99_ms: f64,
    pub(super) max_rss_kib: u64,
    pub(super) cpu: CpuUse,
}

/// One message per transaction at `STEADY_RATE` for `secs`, while `process` publishes
/// them to `topic`: commit -> record visible, as a consumer assigned to the topic's end
/// sees it (the record's `id` header names the row). RSS and CPU every 100 ms.
pub(super) async fn steady(
    stack: &Stack,
    db: &ServiceDatabase,
    topic: &str,
    (label, pid): (&'static str, u32),
    secs: u64,
) -> anyhow::Result<Steady> {
    let total = (STEADY_RATE * secs / STEADY_WRITERS * STEADY_WRITERS) as usize;
    let committing = Committing::default();
    let reader = Reader::start(
        &stack.broker.bootstrap_servers(),
        &stack.topic(topic),
        committing.clone(),
        total,
    )?;
    let meter = PhaseMeter::new(Pids::of(stack).tracker((label, pid)), pid)
        .every(Duration::from_millis(100));
    let load = paced_commits(
        db,
        Layout::Debezium,
        STEADY_RATE,
        secs,
        2_000_000,
        Some(committing),
    )
    .await?;
    drop(load.clients);
    // The last records: the reader stops once it has seen every one, or after 60 s.
    while !reader.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut latencies = reader.finish()?;
    let (cpu, rss) = meter.finish().await?;
    latencies.sort_by(f64::total_cmp);
    let mut commits: Vec<f64> = load
        .commits
        .iter()
        .map(|c| c.commit.as_secs_f64() * 1e3)
        .collect();
    commits.sort_by(f64::total_cmp);
    let ms = |values: &[f64], p: f64| percentile(values, p).unwrap_or(f64::NAN);
    Ok(Steady {
        transactions: total,
        seconds: load.seconds,
        p50_ms: ms(&latencies, 50.0),
        p99_ms: ms(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        seen: latencies.len(),
        commit_p99_ms: ms(&commits, 99.0),
        max_rss_kib: rss.max_kib,
        cpu,
    })
}

/// A consumer thread reading a topic from its current end: for each record whose `id`
/// header names a committed row, the time from just before its `COMMIT` to arrival.
struct Reader {
    thread: std::thread::JoinHandle<anyhow::Result<Vec<f64>>>,
}

impl Reader {
    fn start(
        bootstrap: &str,
        topic: &str,
        committing: Committing,
        expected: usize,
    ) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", format!("bench-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", "5")
            .create()?;
        // From the end as it is now (not `Offset::End`, which is resolved later).
        let mut assignment = TopicPartitionList::new();
        for partition in 0..PARTITIONS {
            let (_, high) = consumer.fetch_watermarks(topic, partition, Duration::from_secs(5))?;
            assignment.add_partition_offset(topic, partition, Offset::Offset(high))?;
        }
        consumer.assign(&assignment)?;
        let thread = std::thread::spawn(move || {
            let mut latencies = Vec::with_capacity(expected);
            let mut idle_since: Option<Instant> = None;
            while latencies.len() < expected {
                match consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(record)) => {
                        let arrived = Instant::now();
                        idle_since = None;
                        let id = record.headers().and_then(|headers| {
                            headers
                                .iter()
                                .find(|h| h.key == "id")
                                .and_then(|h| h.value)
                                .map(|v| String::from_utf8_lossy(v).into_owned())
                        });
                        let committed = id.and_then(|id| {
                            committing
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .get(&id)
                                .copied()
                        });
                        if let Some(committed) = committed {
                            latencies.push((arrived - committed).as_secs_f64() * 1e3);
                        }
                    }
                    Some(Err(error)) => bail!("steady reader: {error}"),
                    None => {
                        // Nothing for 60 s after the last record: give up with what we have.
                        let since = *idle_since.get_or_insert_with(Instant::now);
                        if since.elapsed() > Duration::from_secs(60) {
                            break;
                        }
                    }
                }
            }
            Ok(latencies)
        });
        Ok(Self { thread })
    }

    fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    fn finish(self) -> anyhow::Result<Vec<f64>> {
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("steady reader panicked"))?
    }
}
