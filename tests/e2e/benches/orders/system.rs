//! What the system did during a run: the CPU each part used (the harness's
//! `CpuTracker`, with every other process on the machine and what no process explains),
//! PostgreSQL's commits, WAL and fsyncs, and a `top` snapshot.

use std::process::Stdio;
use std::time::Duration;

use ftgo_harness::measure::{CpuSources, CpuTracker, CpuUse};
use ftgo_harness::{SERVICE_BINARIES, SERVICES, Stack};

/// What the system did during one run.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    /// CPU seconds of each part, and of the rest of the machine.
    pub(crate) cpu: CpuUse,
    /// What PostgreSQL did meanwhile, as one line.
    pub(crate) pg: String,
    /// `top -b` half way through.
    pub(crate) top: String,
}

/// A run being observed: from [`RunMeter::start`] to [`RunMeter::finish`].
#[derive(Debug)]
pub(crate) struct RunMeter {
    pg: PgSample,
    cpu: CpuTracker,
}

impl RunMeter {
    /// Takes the first readings: PostgreSQL's counters, then every part's CPU.
    pub(crate) async fn start(stack: &mut Stack) -> Self {
        let pg = pg_sample(stack).await;
        Self {
            pg,
            cpu: parts(stack).start(),
        }
    }

    /// Takes the last readings (after [`settle`] where backends may still be exiting);
    /// prints them to stderr and returns them with `top`, taken while the run went on.
    pub(crate) async fn finish(self, stack: &Stack, top: String) -> Observed {
        let cpu = self.cpu.finish();
        let wall = Duration::from_secs_f64(cpu.wall_seconds);
        let pg = pg_used(stack, &self.pg, &pg_sample(stack).await, wall).await;
        eprintln!("PostgreSQL: {pg}");
        eprintln!("{}", cpu.table());
        Observed { cpu, pg, top }
    }
}

/// Every part of the system, by name: PostgreSQL (the postmaster, every live backend,
/// and backends gone during the run, whose time the postmaster's reaped children's time
/// holds), the broker, the relays, the services, the load generators this process ran
/// (wrk, pgbench: reaped children) and this process itself (the paced client, probes);
/// and every other process on the machine.
fn parts(stack: &mut Stack) -> CpuSources {
    let mut sources = CpuSources::default()
        .tree(stack.postgres.pid(), |_| "postgres (all backends)")
        .process("kafka", stack.broker.pid().unwrap_or_default());
    for service in SERVICES {
        sources = sources.process("cdc-relay ×3", stack.relay(service).pid());
    }
    for binary in SERVICE_BINARIES {
        sources = sources.process(binary, stack.service(binary, 0).pid());
    }
    sources
        .reaped("load generator (wrk/pgbench)", std::process::id())
        .process("bench process (paced client, probes)", std::process::id())
        .others()
}

/// PostgreSQL's cumulative counters (flushed by backends within about a second).
#[derive(Debug, Clone, Default)]
struct PgSample {
    lsn: String,
    commits: i64,
    wal_syncs: i64,
    wal_fpi: i64,
}

async fn pg_sample(stack: &Stack) -> PgSample {
    let admin = stack.postgres.superuser("postgres").await.expect("admin");
    let row = admin
        .query_one(
            "SELECT pg_current_wal_lsn()::text,
                    (SELECT sum(xact_commit) FROM pg_stat_database)::int8,
                    wal_sync, wal_fpi
             FROM pg_stat_wal",
            &[],
        )
        .await
        .expect("pg stats");
    PgSample {
        lsn: row.get(0),
        commits: row.get(1),
        wal_syncs: row.get(2),
        wal_fpi: row.get(3),
    }
}

/// What PostgreSQL did between two samples, as one line.
async fn pg_used(stack: &Stack, before: &PgSample, after: &PgSample, wall: Duration) -> String {
    let admin = stack.postgres.superuser("postgres").await.expect("admin");
    let wal: f64 = admin
        .query_one(
            "SELECT pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)::float8",
            &[&after.lsn, &before.lsn],
        )
        .await
        .expect("wal diff")
        .get(0);
    let commits = (after.commits - before.commits).max(0);
    let syncs = (after.wal_syncs - before.wal_syncs).max(0);
    format!(
        "{commits} commits ({:.0}/s, every database), {:.1} MB WAL ({:.0} bytes/commit, \
         {} full-page images), {syncs} WAL fsyncs ({:.1} commits per fsync)",
        commits as f64 / wall.as_secs_f64(),
        wal / 1e6,
        wal / commits.max(1) as f64,
        after.wal_fpi - before.wal_fpi,
        commits as f64 / syncs.max(1) as f64
    )
}

/// Lets exited PostgreSQL backends be reaped (their CPU time then counts in the
/// postmaster's) before the closing sample.
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// `top` while the load runs (the second frame: the first averages since start-up).
pub(crate) async fn top_snapshot() -> String {
    let output = tokio::process::Command::new("top")
        .args(["-b", "-n", "2", "-d", "2", "-w", "160"])
        .stdin(Stdio::null())
        .output()
        .await;
    let Ok(output) = output else {
        return "(top not available)".into();
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let frames: Vec<&str> = text.split("top - ").collect();
    let last = frames.last().copied().unwrap_or_default();
    let lines: Vec<&str> = last.lines().take(22).collect();
    format!("top - {}", lines.join("\n"))
}
