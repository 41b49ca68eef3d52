//! Latency at a steady load: one message per transaction at a paced rate, committed by
//! `STEADY_WRITERS` connections, while the relay kept from the last round publishes
//! them; commit -> broker acknowledgement from the relay's own histogram. Run at
//! `STEADY_RATE` and at the rate pgbench found PostgreSQL to sustain with the same
//! outbox transaction ([`postgres_limit`]).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ftgo_harness::measure::{CpuUse, GcLog, GcPauses, Histogram, PhaseMeter, percentile, rss_kib};
use ftgo_harness::pgbench::{self, PgbenchRun};
use ftgo_harness::{ServiceDatabase, Stack, http};
use outbox::OutboxMode;

use crate::database::{Layout, paced_commits, steady_row};
use crate::drain::metric;
use crate::{STEADY_SECS, STEADY_WRITERS, stack_cpu};

/// How long pgbench runs to find PostgreSQL's limit.
const LIMIT_SECS: u64 = 15;

/// The relay's commit -> acknowledgement histogram.
const HISTOGRAM: &str = "ftgo_relay_commit_to_ack_seconds";
/// Its share until the relay read the transaction (the commit's WAL flush included).
const READ_HISTOGRAM: &str = "ftgo_relay_commit_to_read_seconds";

/// What the steady phase measured.
#[derive(Debug, Default)]
pub(crate) struct Steady {
    /// The rate asked for, transactions/s.
    pub(crate) rate: u64,
    pub(crate) transactions: u64,
    pub(crate) seconds: f64,
    /// Client-side commit duration (BEGIN .. COMMIT), exact percentiles in ms.
    pub(crate) commit_p50_ms: f64,
    pub(crate) commit_p99_ms: f64,
    /// From the relay's histogram deltas, by linear interpolation within buckets.
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) mean_ms: f64,
    pub(crate) observed: f64,
    /// Bucket bounds around p99, in ms.
    pub(crate) p99_bucket: (f64, f64),
    /// Commit -> the relay reading the transaction: p50, p99 and mean in ms, as above.
    pub(crate) read_ms: (f64, f64, f64),
    /// The broker's GC pauses while the load ran.
    pub(crate) broker_gc: GcPauses,
    pub(crate) max_rss_kib: u64,
    pub(crate) rss_at_start_kib: u64,
    pub(crate) rss_samples: usize,
    pub(crate) cpu: CpuUse,
}

/// The steady load at `rate` through the relay at `address` (process `pid`), once it has
/// published the `published_before` messages written before; RSS and CPU sampled every
/// 100 ms while it runs.
pub(crate) async fn steady(
    stack: &Stack,
    db: &ServiceDatabase,
    (address, pid): (SocketAddr, u32),
    rate: u64,
    published_before: usize,
) -> anyhow::Result<Steady> {
    let rss_at_start_kib = rss_kib(pid).unwrap_or(0);
    let cpu = stack_cpu(stack.postgres.pid(), stack.broker.pid().unwrap_or_default())
        .process("relay", pid)
        .start();

    let published_before = wait_published(address, published_before as f64).await?;
    let (before, read_before) = histograms(address).await.context("read the histograms")?;

    let gc = stack.broker.gc_log_path().map(|path| GcLog::mark(&path));
    // RSS (and CPU) every 100 ms while the load runs.
    let meter = PhaseMeter::new(cpu, pid).every(Duration::from_millis(100));
    let layout = Layout::Ftgo(OutboxMode::LogTailing);
    // The connections stay open until the last CPU sample.
    let load = paced_commits(db, layout, rate, STEADY_SECS, 1_000_000, None).await?;
    let total = load.commits.len();
    // Wait for the relay to acknowledge the last of them.
    wait_published(address, published_before + total as f64).await?;
    let (cpu, rss) = meter.finish().await?;
    let broker_gc = gc.map(|gc| gc.pauses()).unwrap_or_default();
    drop(load.clients);
    let (after, read_after) = histograms(address).await.context("read the histograms")?;
    let delta = after.minus(&before);
    let read = read_after.minus(&read_before);

    let mut durations: Vec<Duration> = load.commits.iter().map(|c| c.transaction).collect();
    durations.sort_unstable();
    let exact = |p: f64| percentile(&durations, p).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
    let p99 = delta.quantile(0.99);
    Ok(Steady {
        rate,
        transactions: total as u64,
        seconds: load.seconds,
        commit_p50_ms: exact(50.0),
        commit_p99_ms: exact(99.0),
        p50_ms: delta.quantile(0.50).value * 1e3,
        p99_ms: p99.value * 1e3,
        p99_bucket: (p99.lower * 1e3, p99.upper * 1e3),
        read_ms: (
            read.quantile(0.50).value * 1e3,
            read.quantile(0.99).value * 1e3,
            read.mean() * 1e3,
        ),
        broker_gc,
        mean_ms: delta.mean() * 1e3,
        observed: delta.count,
        max_rss_kib: rss.max_kib,
        rss_at_start_kib,
        rss_samples: rss.samples,
        cpu,
    })
}

/// Waits (at most 60 s) until the relay at `address` has published `target` messages;
/// returns how many it has.
async fn wait_published(address: SocketAddr, target: f64) -> anyhow::Result<f64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let published = metric(address, "ftgo_relay_messages_published_total")
            .await
            .unwrap_or(0.0);
        if published >= target {
            return Ok(published);
        }
        if Instant::now() > deadline {
            bail!("the relay published only {published} of {target} messages");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What pgbench found PostgreSQL to sustain with the steady phase's transaction.
#[derive(Debug, Default)]
pub(crate) struct PostgresLimit {
    pub(crate) clients: u32,
    pub(crate) seconds: u64,
    pub(crate) run: PgbenchRun,
}

/// pgbench running the steady phase's transaction (BEGIN, `outbox::append`'s SQL of one
/// message, COMMIT) unpaced over `STEADY_WRITERS` connections for `LIMIT_SECS`, while
/// the relay publishes what it writes, as it would in the service: the highest rate this
/// machine's PostgreSQL sustains with the outbox transaction, the relay and the broker
/// beside it.
pub(crate) async fn postgres_limit(
    stack: &Stack,
    db: &ServiceDatabase,
) -> anyhow::Result<PostgresLimit> {
    let script = stack.dir().join("outbox.pgbench.sql");
    let sql = format!(
        "-- one message per transaction through outbox::append's SQL (benches/relay/steady.rs)\n\
         BEGIN;\n{}COMMIT;\n",
        pgbench::outbox_append(&[steady_row(0)])
    );
    std::fs::write(&script, sql).context("write the pgbench script")?;
    let clients = STEADY_WRITERS as u32;
    let run = pgbench::run(
        &stack.postgres,
        db,
        &script,
        clients,
        Duration::from_secs(LIMIT_SECS),
    )
    .await?;
    ensure!(
        run.failed == 0,
        "pgbench: {} transactions failed",
        run.failed
    );
    Ok(PostgresLimit {
        clients,
        seconds: LIMIT_SECS,
        run,
    })
}

/// The relay's commit -> acknowledgement and commit -> read histograms now, from one
/// `/metrics` body.
async fn histograms(address: SocketAddr) -> Option<(Histogram, Histogram)> {
    let (_, body) = http::get(address, "/metrics").await?;
    Some((
        Histogram::parse(&body, HISTOGRAM)?,
        Histogram::parse(&body, READ_HISTOGRAM)?,
    ))
}
