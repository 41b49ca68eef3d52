//! Each side's drain of the Debezium-layout backlog: from ready (the relay's `/readyz`,
//! Connect's connector and task RUNNING) until every row is visible in its topic, with
//! what each used meanwhile, the same way for both.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use ftgo_harness::debezium::{DebeziumConnect, OutboxConnector, WorkerOptions};
use ftgo_harness::measure::{CpuTracker, CpuUse, PhaseMeter, Rate, RssPeak, clock_ticks, ticks};
use ftgo_harness::{ServiceDatabase, Stack};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::{Comparison, DEBEZIUM_TOPIC, PUBLICATION, RELAY_TOPIC, SERVICE, debezium_slot};
use crate::{PARTITIONS, relay_env, stack_cpu};

const READY_WITHIN: Duration = Duration::from_secs(180);
const DRAIN_WITHIN: Duration = Duration::from_secs(600);

/// One side's drain of the backlog.
#[derive(Debug, Default)]
pub(super) struct Drain {
    /// Rows made visible after ready, over ready -> all visible.
    pub(super) rate: Rate,
    /// All rows over spawn -> all visible.
    pub(super) rate_from_spawn: Rate,
    /// Spawn -> ready (relay `/readyz`; Connect: connector and task RUNNING).
    pub(super) ready_seconds: f64,
    /// Spawn -> the first record visible in the topic (polled every 20 ms).
    pub(super) first_seconds: f64,
    /// The rows made visible after that poll, over the time after it.
    pub(super) rate_after_first: Rate,
    /// Already visible when ready was seen (excluded from `rate`).
    pub(super) visible_at_ready: i64,
    /// Records in the topic before the process started.
    pub(super) base: i64,
    /// Records beyond the backlog once the process stopped (or, for the worker kept for
    /// the steady load, once drained): duplicates, which at-least-once delivery allows.
    pub(super) surplus: i64,
    /// Most RSS from spawn until all were visible, sampled every 20 ms.
    pub(super) max_rss_kib: u64,
    /// CPU from ready until all were visible.
    pub(super) cpu: CpuUse,
    /// The process's own CPU seconds from its start until all were visible.
    pub(super) process_cpu_seconds: f64,
}

/// Records visible in a topic: the sum of its partitions' high watermarks.
pub(super) struct Visible {
    consumer: BaseConsumer,
    topic: String,
}

impl Visible {
    pub(super) fn new(bootstrap: &str, topic: String) -> anyhow::Result<Self> {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()?;
        Ok(Self { consumer, topic })
    }

    pub(super) fn count(&self) -> anyhow::Result<i64> {
        let mut sum = 0;
        for partition in 0..PARTITIONS {
            let (_, high) =
                self.consumer
                    .fetch_watermarks(&self.topic, partition, Duration::from_secs(5))?;
            sum += high;
        }
        Ok(sum)
    }
}

/// When the first record became visible, how many were then, and the most RSS.
type Watched = (Option<(Instant, i64)>, u64);

/// From a process's spawn on, in a thread of its own: when the first record becomes
/// visible, and the most RSS, every 20 ms, until stopped.
struct StartWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<anyhow::Result<Watched>>,
}

impl StartWatch {
    fn start(visible: Visible, base: i64, pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut first, mut rss) = (None, RssPeak::new(pid));
            while !stopped.load(Ordering::Relaxed) {
                rss.sample();
                if first.is_none() {
                    let count = visible.count()? - base;
                    if count > 0 {
                        first = Some((Instant::now(), count));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok((first, rss.max_kib))
        });
        Self { stop, thread }
    }

    fn finish(self) -> anyhow::Result<Watched> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("start watch panicked"))?
    }
}

/// The processes every CPU figure names besides the measured one.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pids {
    postmaster: u32,
    broker: u32,
}

impl Pids {
    pub(super) fn of(stack: &Stack) -> Self {
        Self {
            postmaster: stack.postgres.pid(),
            broker: stack.broker.pid().unwrap_or_default(),
        }
    }

    pub(super) fn tracker(self, (label, pid): (&'static str, u32)) -> CpuTracker {
        stack_cpu(self.postmaster, self.broker)
            .process(label, pid)
            .start()
    }
}

/// Everything of a drain after ready: polls the topic, RSS and CPU every 20 ms until
/// `rows` more than `base` are visible.
async fn until_visible(
    pids: Pids,
    visible: &Visible,
    base: i64,
    rows: usize,
    (label, pid): (&'static str, u32),
    spawned: Instant,
    watch: StartWatch,
) -> anyhow::Result<Drain> {
    let ready = Instant::now();
    let visible_at_ready = visible.count()? - base;
    let mut meter = PhaseMeter::new(pids.tracker((label, pid)), pid);
    loop {
        meter.sample();
        let count = visible.count()? - base;
        if count >= rows as i64 {
            break;
        }
        if ready.elapsed() > DRAIN_WITHIN {
            bail!("{label}: {count} of {rows} visible after {DRAIN_WITHIN:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = Instant::now();
    let (cpu, rss) = meter.finish();
    let process_cpu_seconds = ticks(&pid.to_string()).0 as f64 / clock_ticks();
    let (first, start_rss) = watch.finish()?;
    let (first_at, visible_at_first) = first.unwrap_or((done, rows as i64));
    Ok(Drain {
        rate: Rate::new(rows.saturating_sub(visible_at_ready as usize), done - ready),
        rate_from_spawn: Rate::new(rows, done - spawned),
        ready_seconds: (ready - spawned).as_secs_f64(),
        first_seconds: (first_at - spawned).as_secs_f64(),
        rate_after_first: Rate::new(
            rows.saturating_sub(visible_at_first as usize),
            done - first_at,
        ),
        visible_at_ready,
        base,
        surplus: 0,
        max_rss_kib: rss.max_kib.max(start_rss),
        cpu,
        process_cpu_seconds,
    })
}

/// A relay in Debezium layout on `slot` (the `index`-th relay started for [`SERVICE`]),
/// timed until `rows` more records are visible in its topic; stopped afterwards unless
/// `keep`. Returns the figures and its pid.
pub(super) async fn relay_drain(
    stack: &mut Stack,
    slot: &str,
    index: usize,
    rows: usize,
    keep: bool,
) -> anyhow::Result<(Drain, u32)> {
    let (bootstrap, topic, pids) = (
        stack.broker.bootstrap_servers(),
        stack.topic(RELAY_TOPIC),
        Pids::of(stack),
    );
    let visible = Visible::new(&bootstrap, topic.clone())?;
    let base = visible.count()?;
    let mut env = relay_env();
    env.extend(
        [
            ("FTGO_LAYOUT", "debezium"),
            ("FTGO_RELAY__TABLE", "public.outboxevent"),
            ("FTGO_RELAY__PUBLICATION", PUBLICATION),
            ("FTGO_RELAY__SLOT", slot),
            ("FTGO_DEBEZIUM__ROUTE_TOPIC_REPLACEMENT", RELAY_TOPIC),
            (
                "FTGO_DEBEZIUM__TABLE_FIELDS_ADDITIONAL_PLACEMENT",
                "type:header:eventType",
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let spawned = Instant::now();
    stack.start_relay(SERVICE, &env).await?;
    let relay = stack.relay_instance(SERVICE, index);
    let pid = relay.pid();
    let watch = StartWatch::start(Visible::new(&bootstrap, topic)?, base, pid);
    relay.wait_ready(READY_WITHIN).await?;
    let drain = until_visible(pids, &visible, base, rows, ("relay", pid), spawned, watch).await?;
    let mut drain = drain;
    if !keep {
        let status = relay.terminate();
        anyhow::ensure!(
            status.is_some_and(|s| s.success()),
            "the relay exited with {status:?}"
        );
        drain.surplus = visible.count()? - base - rows as i64;
    }
    Ok((drain, pid))
}

/// Debezium on round `round`'s slot, timed until the backlog is visible in its topic.
/// Returns the figures and the running worker.
pub(super) async fn debezium_drain(
    stack: &Stack,
    comparison: &Comparison,
    round: usize,
    db: &ServiceDatabase,
    bootstrap: &str,
) -> anyhow::Result<(Drain, DebeziumConnect)> {
    let visible = Visible::new(bootstrap, stack.topic(DEBEZIUM_TOPIC))?;
    let base = visible.count()?;
    let name = format!("bench_debezium_{round}");
    let mut connector = OutboxConnector::new(&name, "public.outboxevent");
    connector.slot = debezium_slot(round);
    connector.publication = PUBLICATION.to_owned();
    // The publication exists (inserts only, as the relay's): leave it as it is.
    connector.publication_autocreate = "disabled".to_owned();
    // The backlog waits in the slot; the table is empty anyway (rows are deleted).
    connector.snapshot_mode = "no_data".to_owned();
    connector.router = vec![
        (
            "route.topic.replacement".to_owned(),
            stack.topic(DEBEZIUM_TOPIC),
        ),
        (
            "table.fields.additional.placement".to_owned(),
            "type:header:eventType".to_owned(),
        ),
    ];
    connector.extra = comparison.connector_extra.clone();
    let options = WorkerOptions {
        heap_opts: comparison.heap_opts.clone(),
        extra: comparison.worker_extra.clone(),
    };
    let dir = stack.dir().join(format!("debezium-{round}"));
    let spawned = Instant::now();
    let mut worker =
        DebeziumConnect::start(&dir, stack.logs_dir(), bootstrap, db, &connector, &options)?;
    let pid = worker.pid();
    let watch = StartWatch::start(
        Visible::new(bootstrap, stack.topic(DEBEZIUM_TOPIC))?,
        base,
        pid,
    );
    worker.wait_running(READY_WITHIN).await?;
    let drain = until_visible(
        Pids::of(stack),
        &visible,
        base,
        comparison.rows,
        ("debezium", pid),
        spawned,
        watch,
    )
    .await?;
    Ok((drain, worker))
}
