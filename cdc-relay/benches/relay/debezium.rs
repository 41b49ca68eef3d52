//! Debezium next to the relay: the PostgreSQL connector with its Outbox Event Router on a
//! Kafka Connect standalone worker (`ftgo_harness::debezium`, which says how the worker
//! runs and why each setting), against the relay in `FTGO_LAYOUT=debezium`, over one
//! Debezium-layout backlog, into the bench's broker, in the same run.
//!
//! How: in `restaurant_service`'s database (the other phases use `order_service` and
//! `consumer_service`), Debezium's example outbox table `outboxevent`, one publication
//! for its inserts (what the relay creates for itself; Debezium's own `filtered`
//! publication would also send the deletes, which the router then drops), and a slot per
//! drain, all before the backlog: the main backlog's messages written as Debezium-layout
//! rows, inserted and deleted in each transaction as services using Debezium do. Then per
//! round, the relay and then Debezium, each started only now on its own slot, from ready
//! (`/readyz`; Connect's REST status RUNNING) until every row is visible in its topic
//! (the sum of the partitions' high watermarks, read every 20 ms: the same measure for
//! both). Last, a steady load at the main phase's rate, for Debezium (the last round's
//! worker) and then for a relay on a fresh slot: commit -> record visible, measured by a
//! consumer of the topic (from just before `COMMIT` to the record's arrival, matched by
//! its `id` header), the same way for both.
//!
//! Debezium runs with its defaults, as users start it. One of them shapes its latency:
//! its queue hands Connect a batch once it holds `max.batch.size` (2048) records or
//! `poll.interval.ms` (500) has passed since Connect asked (`ChangeEventQueue.poll` in
//! 3.6), so at 1,000 rows/s a record waits up to half a second before it is sent.
//! `FTGO_BENCH_DEBEZIUM_CONNECTOR=poll.interval.ms=10` measures it tuned for latency.
//!
//! Knobs (environment), the documented figures use the defaults:
//! - `FTGO_BENCH_DEBEZIUM=off` skips this phase (no Java needed);
//! - `FTGO_BENCH_DEBEZIUM_TRANSACTIONS` (the main backlog's, 50,000 of 2 rows),
//!   `FTGO_BENCH_DEBEZIUM_ROUNDS` (3), `FTGO_BENCH_DEBEZIUM_STEADY_SECS` (the main
//!   phase's, 30): smaller for a short run;
//! - `FTGO_BENCH_DEBEZIUM_HEAP` (`KAFKA_HEAP_OPTS`, default `-Xms256M -Xmx2G` as
//!   `connect-standalone.sh`), `FTGO_BENCH_DEBEZIUM_CONNECTOR` and
//!   `FTGO_BENCH_DEBEZIUM_WORKER` (`key=value,...` added to the connector's or the
//!   worker's properties, e.g. `poll.interval.ms=10` or `producer.linger.ms=5`) to try
//!   settings.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ftgo_harness::debezium::{self, DebeziumConnect, OutboxConnector, WorkerOptions};
use ftgo_harness::measure::{clock_ticks, percentile, ticks};
use ftgo_harness::{ServiceDatabase, Stack};
use platform::outbox::OutboxMessage;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio::task::JoinSet;
use tokio_postgres::types::Type;

use super::{
    AGGREGATES, CpuTracker, CpuUse, MIB, PARTITIONS, ROUNDS, Rate, STEADY_RATE, STEADY_SECS,
    STEADY_WRITERS, TOPIC, TRANSACTIONS, WRITERS, backlog_messages, median, message, progress,
    quiesce, relay_env, rss_kib,
};

/// The database of this phase: no other phase writes or streams there.
const SERVICE: &str = "restaurant_service";
/// The publication both read (inserts only).
const PUBLICATION: &str = "bench_outboxevent";
/// The topics each writes to (`route.topic.replacement`, a fixed name).
const RELAY_TOPIC: &str = "bench.outboxevent.relay";
const DEBEZIUM_TOPIC: &str = "bench.outboxevent.debezium";

const READY_WITHIN: Duration = Duration::from_secs(180);
const DRAIN_WITHIN: Duration = Duration::from_secs(600);

/// One side's drain of the backlog.
#[derive(Debug, Default)]
struct Drain {
    /// Rows made visible after ready, over ready -> all visible.
    rate: Rate,
    /// All rows over spawn -> all visible.
    rate_from_spawn: Rate,
    /// Spawn -> ready (relay `/readyz`; Connect: connector and task RUNNING).
    ready_seconds: f64,
    /// Spawn -> the first record visible in the topic (polled every 20 ms).
    first_seconds: f64,
    /// The rows made visible after that poll, over the time after it.
    rate_after_first: Rate,
    /// Already visible when ready was seen (excluded from `rate`).
    visible_at_ready: i64,
    /// Records in the topic before the process started.
    base: i64,
    /// Records beyond the backlog once the process stopped (or, for the worker kept for
    /// the steady load, once drained): duplicates, which at-least-once delivery allows.
    surplus: i64,
    /// Most RSS from spawn until all were visible, sampled every 20 ms.
    max_rss_kib: u64,
    /// CPU from ready until all were visible.
    cpu: CpuUse,
    /// The process's own CPU seconds from its start until all were visible.
    process_cpu_seconds: f64,
}

/// One side at the steady load.
#[derive(Debug, Default)]
struct Steady {
    transactions: usize,
    seconds: f64,
    /// Commit -> record visible, as the consumer saw it, ms.
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    seen: usize,
    /// Client-side commit duration, ms.
    commit_p99_ms: f64,
    max_rss_kib: u64,
    cpu: CpuUse,
}

/// What this phase measured, rendered into the report's block by [`Comparison::append_to`].
#[derive(Debug, Default)]
pub(super) struct Comparison {
    skipped: bool,
    rows: usize,
    transactions: usize,
    backlog_seconds: f64,
    heap_opts: String,
    connector_extra: Vec<(String, String)>,
    worker_extra: Vec<(String, String)>,
    relay: Vec<Drain>,
    debezium: Vec<Drain>,
    relay_steady: Steady,
    debezium_steady: Steady,
    total_seconds: f64,
}

/// Runs the comparison on `stack` (its broker and PostgreSQL), unless
/// `FTGO_BENCH_DEBEZIUM=off`.
pub(super) async fn compare(stack: &mut Stack) -> anyhow::Result<Comparison> {
    if std::env::var("FTGO_BENCH_DEBEZIUM").is_ok_and(|v| v == "off" || v == "0") {
        progress("Debezium comparison skipped (FTGO_BENCH_DEBEZIUM=off)");
        return Ok(Comparison {
            skipped: true,
            ..Default::default()
        });
    }
    let started = Instant::now();
    let transactions_wanted = knob("FTGO_BENCH_DEBEZIUM_TRANSACTIONS", TRANSACTIONS);
    let rounds = knob("FTGO_BENCH_DEBEZIUM_ROUNDS", ROUNDS).max(1);
    let steady_secs = knob("FTGO_BENCH_DEBEZIUM_STEADY_SECS", STEADY_SECS as usize) as u64;
    let mut comparison = Comparison {
        heap_opts: std::env::var("FTGO_BENCH_DEBEZIUM_HEAP")
            .unwrap_or_else(|_| debezium::DEFAULT_HEAP_OPTS.to_owned()),
        connector_extra: pairs("FTGO_BENCH_DEBEZIUM_CONNECTOR"),
        worker_extra: pairs("FTGO_BENCH_DEBEZIUM_WORKER"),
        ..Default::default()
    };

    progress("Debezium: Kafka Connect worker and PostgreSQL connector from Maven Central");
    tokio::task::spawn_blocking(|| {
        debezium::ensure_installed(&|line| progress(&format!("Debezium: {line}")))
    })
    .await??;

    // The table, the publication and every slot before the backlog, so that each slot
    // holds all of it.
    let db = stack.database(SERVICE).clone();
    let client = db.connect().await?;
    client.batch_execute(debezium::OUTBOX_TABLE).await?;
    client
        .batch_execute(&format!(
            "CREATE PUBLICATION {PUBLICATION} FOR TABLE outboxevent WITH (publish = 'insert')"
        ))
        .await?;
    for round in 1..=rounds {
        for slot in [relay_slot(round), debezium_slot(round)] {
            client
                .query_one(
                    "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                    &[&slot],
                )
                .await
                .with_context(|| format!("create slot {slot}"))?;
        }
    }
    stack.create_topic(RELAY_TOPIC, PARTITIONS).await?;
    stack.create_topic(DEBEZIUM_TOPIC, PARTITIONS).await?;

    let mut transactions = backlog_messages();
    transactions.truncate(transactions_wanted);
    comparison.transactions = transactions.len();
    comparison.rows = transactions.iter().map(Vec::len).sum();
    progress(&format!(
        "Debezium: writing {} Debezium-layout outbox rows in {} transactions over {WRITERS} \
         connections into {SERVICE}.outboxevent",
        comparison.rows, comparison.transactions
    ));
    comparison.backlog_seconds = write_backlog(&db, Arc::new(transactions))
        .await?
        .as_secs_f64();
    quiesce(stack, &db, "outboxevent").await?;

    let bootstrap = stack.broker.bootstrap_servers();
    let mut kept = None;
    for round in 1..=rounds {
        progress(&format!(
            "Debezium round {round}/{rounds}: the relay (FTGO_LAYOUT=debezium) on slot {}",
            relay_slot(round)
        ));
        let (drain, _) =
            relay_drain(stack, &relay_slot(round), round - 1, comparison.rows, false).await?;
        progress(&format!("Debezium round {round}: relay {}", drain.rate));
        comparison.relay.push(drain);

        progress(&format!(
            "Debezium round {round}/{rounds}: Debezium on slot {}",
            debezium_slot(round)
        ));
        let (mut drain, mut worker) =
            debezium_drain(stack, &comparison, round, &db, &bootstrap).await?;
        progress(&format!(
            "Debezium round {round}: Debezium {} (ready {:.1} s after spawn)",
            drain.rate, drain.ready_seconds
        ));
        if round < rounds {
            stop_worker(&mut worker)?;
        }
        let visible = Visible::new(&bootstrap, stack.topic(DEBEZIUM_TOPIC))?;
        drain.surplus = visible.count()? - drain.base - comparison.rows as i64;
        comparison.debezium.push(drain);
        if round == rounds {
            kept = Some(worker);
        }
    }

    let mut worker = kept.context("no Debezium worker")?;
    progress(&format!(
        "Debezium: steady load, {STEADY_RATE} tx/s for {steady_secs} s, through Debezium"
    ));
    comparison.debezium_steady = steady(
        &*stack,
        &db,
        DEBEZIUM_TOPIC,
        ("debezium", worker.pid()),
        steady_secs,
    )
    .await?;
    stop_worker(&mut worker)?;

    // A fresh slot: the relay starts with nothing to catch up on, as Debezium did.
    let slot = "bench_dbz_relay_steady";
    client
        .query_one(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .await?;
    let (_, pid) = relay_drain(stack, slot, rounds, 0, true).await?;
    progress(&format!(
        "Debezium: steady load, {STEADY_RATE} tx/s for {steady_secs} s, through the relay"
    ));
    comparison.relay_steady = steady(stack, &db, RELAY_TOPIC, ("relay", pid), steady_secs).await?;
    stack.relay_instance(SERVICE, rounds).terminate();

    // Inactive slots keep WAL: drop them for whatever runs after this phase.
    let slots: Vec<String> = (1..=rounds)
        .flat_map(|r| [relay_slot(r), debezium_slot(r)])
        .chain([slot.to_owned()])
        .collect();
    for slot in slots {
        client
            .query_one("SELECT pg_drop_replication_slot($1)", &[&slot])
            .await
            .with_context(|| format!("drop slot {slot}"))?;
    }
    comparison.total_seconds = started.elapsed().as_secs_f64();
    Ok(comparison)
}

/// Stops a worker gracefully and says so if it did not exit cleanly.
fn stop_worker(worker: &mut DebeziumConnect) -> anyhow::Result<()> {
    let status = worker.stop();
    // Connect exits with 0 after a SIGTERM, or 143 when the JVM reports the signal.
    if !status.is_some_and(|s| s.success() || s.code() == Some(143)) {
        bail!(
            "Debezium's worker exited with {status:?}; log {}",
            worker.log_path().display()
        );
    }
    Ok(())
}

fn relay_slot(round: usize) -> String {
    format!("bench_dbz_relay_{round}")
}

fn debezium_slot(round: usize) -> String {
    format!("bench_dbz_debezium_{round}")
}

/// A number from the environment, else `default`.
fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// `key=value` pairs, comma-separated, from the environment.
fn pairs(name: &str) -> Vec<(String, String)> {
    std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The backlog

/// Appends `messages` as Debezium-layout rows and deletes them again in `tx`, as a
/// service using Debezium does (two statements, like `platform::outbox::append`).
/// Aggregate type `Order`, id the message's, key its key, the traceparent header as the
/// `java.util.Properties` text Debezium's tracing reads.
async fn append(
    tx: &tokio_postgres::Transaction<'_>,
    messages: &[OutboxMessage],
) -> anyhow::Result<()> {
    let ids: Vec<uuid::Uuid> = messages.iter().map(|m| m.id).collect();
    let keys: Vec<&str> = messages.iter().map(|m| m.key.as_str()).collect();
    let types: Vec<&str> = messages.iter().map(|m| m.message_type.as_str()).collect();
    let payloads: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::from_slice(&m.payload))
        .collect::<Result<_, _>>()?;
    let spans: Vec<Option<String>> = messages
        .iter()
        .map(|m| {
            m.headers
                .get("traceparent")
                .map(|t| format!("traceparent={t}\n"))
        })
        .collect();
    tx.query_typed(
        "INSERT INTO outboxevent
             (id, aggregatetype, aggregateid, type, payload, tracingspancontext)
         SELECT id, 'Order', key, type, payload, span
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[])
              AS m(id, key, type, payload, span)",
        &[
            (&ids, Type::UUID_ARRAY),
            (&keys, Type::TEXT_ARRAY),
            (&types, Type::TEXT_ARRAY),
            (&payloads, Type::JSONB_ARRAY),
            (&spans, Type::TEXT_ARRAY),
        ],
    )
    .await?;
    tx.query_typed(
        "DELETE FROM outboxevent WHERE id = ANY($1)",
        &[(&ids, Type::UUID_ARRAY)],
    )
    .await?;
    Ok(())
}

async fn write_backlog(
    db: &ServiceDatabase,
    transactions: Arc<Vec<Vec<OutboxMessage>>>,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        let db = db.clone();
        let transactions = transactions.clone();
        writers.spawn(async move {
            let mut client = db.connect().await?;
            for messages in transactions.iter().skip(w).step_by(WRITERS) {
                let tx = client.transaction().await?;
                append(&tx, messages).await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = writers.join_next().await {
        result??;
    }
    Ok(start.elapsed())
}

// ---------------------------------------------------------------------------------------
// Drains

/// Records visible in a topic: the sum of its partitions' high watermarks.
struct Visible {
    consumer: BaseConsumer,
    topic: String,
}

impl Visible {
    fn new(bootstrap: &str, topic: String) -> anyhow::Result<Self> {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .create()?;
        Ok(Self { consumer, topic })
    }

    fn count(&self) -> anyhow::Result<i64> {
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
            let (mut first, mut max_rss) = (None, 0);
            while !stopped.load(Ordering::Relaxed) {
                max_rss = rss_kib(pid).unwrap_or(0).max(max_rss);
                if first.is_none() {
                    let count = visible.count()? - base;
                    if count > 0 {
                        first = Some((Instant::now(), count));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok((first, max_rss))
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
struct Pids {
    postmaster: u32,
    broker: u32,
}

impl Pids {
    fn of(stack: &Stack) -> Self {
        Self {
            postmaster: stack.postgres.pid(),
            broker: stack.broker.pid().unwrap_or_default(),
        }
    }

    fn tracker(self, measured: (&'static str, u32)) -> CpuTracker {
        CpuTracker::start(
            self.postmaster,
            &[
                measured,
                ("broker", self.broker),
                ("bench", std::process::id()),
            ],
        )
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
    let mut cpu = pids.tracker((label, pid));
    let mut max_rss_kib = 0;
    loop {
        max_rss_kib = rss_kib(pid).unwrap_or(0).max(max_rss_kib);
        cpu.sample();
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
    let cpu = cpu.finish();
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
        max_rss_kib: max_rss_kib.max(start_rss),
        cpu,
        process_cpu_seconds,
    })
}

/// A relay in Debezium layout on `slot` (the `index`-th relay started for [`SERVICE`]),
/// timed until `rows` more records are visible in its topic; stopped afterwards unless
/// `keep`. Returns the figures and its pid.
async fn relay_drain(
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
async fn debezium_drain(
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

// ---------------------------------------------------------------------------------------
// Steady load

/// One message per transaction at `STEADY_RATE` for `secs`, while `process` publishes
/// them to `topic`: commit -> record visible, as a consumer assigned to the topic's end
/// sees it (the record's `id` header names the row).
async fn steady(
    stack: &Stack,
    db: &ServiceDatabase,
    topic: &str,
    (label, pid): (&'static str, u32),
    secs: u64,
) -> anyhow::Result<Steady> {
    let per_writer = STEADY_RATE * secs / STEADY_WRITERS;
    let total = (per_writer * STEADY_WRITERS) as usize;
    let committing: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = Reader::start(
        &stack.broker.bootstrap_servers(),
        &stack.topic(topic),
        committing.clone(),
        total,
    )?;
    let mut cpu = Pids::of(stack).tracker((label, pid));

    let period = Duration::from_micros(1_000_000 * STEADY_WRITERS / STEADY_RATE);
    let mut clients = Vec::new();
    for _ in 0..STEADY_WRITERS {
        clients.push(db.connect().await?);
    }
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut writers = JoinSet::new();
    for (w, mut client) in (0..STEADY_WRITERS).zip(clients) {
        let first = start + period * (w as u32) / (STEADY_WRITERS as u32);
        let committing = committing.clone();
        writers.spawn(async move {
            let mut ticks = tokio::time::interval_at(first, period);
            let mut durations = Vec::with_capacity(per_writer as usize);
            for i in 0..per_writer {
                ticks.tick().await;
                let n = (w * per_writer + i) as usize;
                let messages = [message(TOPIC, 2_000_000 + n, n % AGGREGATES)];
                let tx = client.transaction().await?;
                append(&tx, &messages).await?;
                let began = Instant::now();
                committing
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(messages[0].id.to_string(), began);
                tx.commit().await?;
                durations.push(began.elapsed());
            }
            anyhow::Ok(durations)
        });
    }
    let mut max_rss_kib = 0;
    let mut durations = Vec::new();
    let mut sampling = tokio::time::interval(Duration::from_millis(100));
    while !writers.is_empty() {
        tokio::select! {
            result = writers.join_next() => {
                if let Some(result) = result {
                    durations.extend(result??);
                }
            }
            _ = sampling.tick() => {
                max_rss_kib = rss_kib(pid).unwrap_or(0).max(max_rss_kib);
                cpu.sample();
            }
        }
    }
    let seconds = (tokio::time::Instant::now() - start).as_secs_f64();
    // The last records: the reader stops once it has seen every one, or after 60 s.
    let reader = loop {
        if reader.is_finished() {
            break reader;
        }
        max_rss_kib = rss_kib(pid).unwrap_or(0).max(max_rss_kib);
        cpu.sample();
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut latencies = reader.finish()?;
    let cpu = cpu.finish();
    latencies.sort_by(f64::total_cmp);
    durations.sort_unstable();
    let ms = |values: &[f64], p: f64| percentile(values, p).unwrap_or(f64::NAN);
    let commits: Vec<f64> = durations.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    Ok(Steady {
        transactions: total,
        seconds,
        p50_ms: ms(&latencies, 50.0),
        p99_ms: ms(&latencies, 99.0),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
        seen: latencies.len(),
        commit_p99_ms: ms(&commits, 99.0),
        max_rss_kib,
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
        committing: Arc<Mutex<HashMap<String, Instant>>>,
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

// ---------------------------------------------------------------------------------------
// The report

impl Comparison {
    /// `report` (the main phase's text) with this phase's lines added at the end of its
    /// markdown block.
    pub(super) fn append_to(&self, report: String) -> String {
        if self.skipped {
            return report;
        }
        let section = self.render();
        match report.rfind("```") {
            Some(end) => format!("{}{section}{}", &report[..end], &report[end..]),
            None => format!("{report}{section}"),
        }
    }

    /// relay rows/s over Debezium's, median of the rounds.
    fn drain_ratio(&self) -> f64 {
        median(
            self.relay
                .iter()
                .zip(&self.debezium)
                .map(|(r, d)| r.rate.rows_per_second() / d.rate.rows_per_second())
                .collect(),
        )
    }

    /// Most RSS over drains and steady load: Debezium's JVM over the relay.
    fn rss_ratio(&self) -> f64 {
        let most = |drains: &[Drain], steady: &Steady| {
            drains
                .iter()
                .map(|d| d.max_rss_kib)
                .chain([steady.max_rss_kib])
                .max()
                .unwrap_or(0) as f64
        };
        most(&self.debezium, &self.debezium_steady) / most(&self.relay, &self.relay_steady)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Debezium {} (PostgreSQL connector, Outbox Event Router, StringConverter) on Kafka \
             Connect {} standalone, JVM {}, vs cdc-relay FTGO_LAYOUT=debezium",
            debezium::DEBEZIUM_VERSION,
            debezium::CONNECT_VERSION,
            self.heap_opts
        );
        for (name, extra) in [
            ("connector", &self.connector_extra),
            ("worker", &self.worker_extra),
        ] {
            if !extra.is_empty() {
                let pairs: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(out, "  {name} settings added: {}", pairs.join(","));
            }
        }
        let _ = writeln!(
            out,
            "  backlog: {} Debezium-layout rows (outboxevent, the main backlog's messages) in {} \
             transactions, inserted and deleted in each, written in {:.1} s; same broker, \
             {PARTITIONS} partitions",
            self.rows, self.transactions, self.backlog_seconds
        );
        let _ = writeln!(
            out,
            "  drain, rows/s, ready -> all visible in the topic (sum of high watermarks, polled \
             every 20 ms)"
        );
        let mut header = format!("  {:<44}", "");
        for n in 1..=self.relay.len() {
            let _ = write!(header, "{:>10}", format!("round {n}"));
        }
        let _ = writeln!(out, "{header}{:>10}", "median");
        let row = |out: &mut String, label: &str, values: Vec<f64>, digits: usize| {
            let mut line = format!("  {label:<44}");
            for v in &values {
                let _ = write!(line, "{v:>10.digits$}");
            }
            let _ = writeln!(out, "{line}{:>10.digits$}", median(values.clone()));
        };
        let both = |out: &mut String, label: &str, f: fn(&Drain) -> f64, digits: usize| {
            row(
                out,
                &format!("{label}: relay"),
                self.relay.iter().map(f).collect(),
                digits,
            );
            row(
                out,
                &format!("{label}: Debezium"),
                self.debezium.iter().map(f).collect(),
                digits,
            );
        };
        both(&mut out, "rows/s", |d| d.rate.rows_per_second(), 0);
        both(
            &mut out,
            "rows/s after the first visible",
            |d| d.rate_after_first.rows_per_second(),
            0,
        );
        both(
            &mut out,
            "rows/s from spawn",
            |d| d.rate_from_spawn.rows_per_second(),
            0,
        );
        both(
            &mut out,
            "records beyond the backlog",
            |d| d.surplus as f64,
            0,
        );
        both(&mut out, "spawn -> ready, s", |d| d.ready_seconds, 2);
        both(
            &mut out,
            "spawn -> first visible, s",
            |d| d.first_seconds,
            2,
        );
        both(
            &mut out,
            "max RSS, MiB",
            |d| d.max_rss_kib as f64 * 1024.0 / MIB,
            1,
        );
        both(&mut out, "CPU s, ready -> all visible", own_cpu, 2);
        both(
            &mut out,
            "CPU s of the process since start",
            |d| d.process_cpu_seconds,
            2,
        );
        for (n, (r, d)) in self.relay.iter().zip(&self.debezium).enumerate() {
            let _ = writeln!(
                out,
                "  round {}: relay {} ({} visible at ready), CPU {}",
                n + 1,
                r.rate,
                r.visible_at_ready,
                r.cpu
            );
            let _ = writeln!(
                out,
                "           Debezium {} ({} visible at ready), CPU {}",
                d.rate, d.visible_at_ready, d.cpu
            );
        }
        for (name, s) in [
            ("relay", &self.relay_steady),
            ("Debezium", &self.debezium_steady),
        ] {
            let _ = writeln!(
                out,
                "  steady {name}: {} tx of 1 row at {STEADY_RATE} tx/s ({:.0} achieved), \
                 commit -> record visible (consumer) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
                 ({} seen); commit p99 {:.1} ms; max RSS {:.1} MiB",
                s.transactions,
                s.transactions as f64 / s.seconds.max(1e-9),
                s.p50_ms,
                s.p99_ms,
                s.max_ms,
                s.seen,
                s.commit_p99_ms,
                s.max_rss_kib as f64 * 1024.0 / MIB
            );
            let _ = writeln!(out, "    CPU {}", s.cpu);
        }
        let _ = writeln!(
            out,
            "relay/debezium drain ratio: {:.2} (median of the rounds' ratios)",
            self.drain_ratio()
        );
        let _ = writeln!(
            out,
            "debezium/relay RSS ratio: {:.2} (most RSS over drains and steady load)",
            self.rss_ratio()
        );
        let _ = writeln!(out, "Debezium phase took {:.0} s", self.total_seconds);
        out
    }
}

/// CPU seconds of the drained process itself (its label: `relay` or `debezium`).
fn own_cpu(drain: &Drain) -> f64 {
    drain.cpu.get("relay") + drain.cpu.get("debezium")
}
