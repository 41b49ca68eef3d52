//! The relay benchmark: drain rate against two yardsticks, latency at a steady load, RSS.
//!
//! Run with `cargo bench -p cdc-relay --bench relay` (release build; a few minutes). It
//! starts a stack with `fsync=on`, writes a backlog of outbox rows through the real
//! outbox API ([`database`]), and then, over that same backlog, times:
//!
//! (a) `pg_recvlogical` draining an identical slot (how fast PostgreSQL can hand the
//!     changes out),
//! (b) a bare rdkafka producer with the relay's settings (its own
//!     `cdc_relay::sink::kafka::producer_config`) sending the same records (how fast
//!     the broker takes them) — both in [`yardsticks`],
//! (c) the relay itself, started only now, from ready until every row was acknowledged
//!     ([`drain`]).
//!
//! Each of the three runs once per round, interleaved, on slots of its own created
//! before the backlog (round 1: `bench_recvlogical` and the relay's own slot, later
//! rounds `bench_recvlogical_<n>` and `bench_relay_<n>`), so that a burst of unrelated
//! load on a small machine spoils one round rather than the result: the ratio reported is
//! the median of the rounds' ratios. With `FTGO_BENCH_COMPARE_RELAY` naming another
//! relay executable, each round also times that build's drain as (c2), for a change's
//! before and after side by side.
//!
//! Then it commits one message per transaction at a paced 1,000 transactions/s and reads
//! the relay's commit-to-acknowledgement histogram ([`steady`]); then pgbench runs that
//! same outbox transaction unpaced to find the highest rate PostgreSQL sustains here, and
//! the steady load runs again at that rate (`commit->ack p99 ms: N`).
//!
//! Last, the relay's polling mode drains the same backlog, written again (rows kept) in
//! another database's outbox, once per round, and [`debezium`] compares the relay with
//! Debezium. The report ([`report`]) ends with a markdown block for
//! `docs/benchmarks.md`. Progress goes to stderr; the report to stdout. CPU, memory and
//! the report's shared parts are measured with `ftgo_harness::measure`, as in the other
//! benchmarks.

#![allow(
    clippy::print_stdout,
    reason = "the report goes to stdout, to be pasted into docs/benchmarks.md"
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ftgo_harness::measure::{CpuSources, Machine, command_line};
use ftgo_harness::{Stack, StackOptions};
use outbox::{self, OutboxMode};

use crate::database::{Layout, backlog_messages, create_slot, current_lsn, quiesce};
use crate::report::{Backlog, Report, Round};

mod database;
/// Debezium on Kafka Connect against the relay in Debezium layout (its own backlog).
mod debezium;
mod drain;
mod report;
mod steady;
mod yardsticks;

const SERVICE: &str = "order_service";
/// The database whose outbox the polling rounds drain (its own, so that the log tailing
/// relay still running for `SERVICE` does not see those rows).
const POLLING_SERVICE: &str = "consumer_service";
/// The relay's destination topic.
const TOPIC: &str = "bench.orders";
/// The raw-produce yardstick's topic (same partitions).
const RAW_TOPIC: &str = "bench.raw";
const PARTITIONS: i32 = 3;
/// pg_recvlogical's slot in round 1, identical to the relay's.
const BENCH_SLOT: &str = "bench_recvlogical";
/// Rounds of (a), (b), (c) over the same backlog.
const ROUNDS: usize = 3;

/// Backlog: transactions of `PER_TXN` messages, keys over `AGGREGATES` aggregates.
const TRANSACTIONS: usize = 50_000;
const PER_TXN: usize = 2;
const AGGREGATES: usize = 1_000;
const PAYLOAD_BYTES: usize = 300;
/// Concurrent connections writing the backlog.
const WRITERS: usize = 8;

/// Steady phase: one message per transaction at this rate, for this long.
const STEADY_RATE: u64 = 1_000;
const STEADY_SECS: u64 = 30;
const STEADY_WRITERS: u64 = 8;

/// Optional extra environment for the relay, `NAME=value` pairs separated by commas
/// (e.g. `TOKIO_WORKER_THREADS=1`), to try settings; the documented figures use none.
const RELAY_ENV: &str = "FTGO_BENCH_RELAY_ENV";

/// Optional path of another relay executable (say, main's build before a change) that
/// drains the same backlog in each round as (c2), on a slot of its own, before (c) in
/// even rounds and after it in odd ones: a change is measured side by side with what it
/// replaces, on the same machine in the same minutes. The documented figures use none.
const COMPARE_RELAY: &str = "FTGO_BENCH_COMPARE_RELAY";

const MIB: f64 = 1024.0 * 1024.0;

fn main() -> anyhow::Result<()> {
    // Run only by `cargo bench` (`cargo test --all-targets` just hears how to run it).
    let mut outcome = Ok(());
    ftgo_harness::measure::run_benchmark("cdc-relay", "relay", async {
        outcome = run().await;
    });
    outcome
}

/// Every phase, then the report on stdout. `cargo bench` passes `--bench` (and
/// filters); this benchmark takes no arguments.
async fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut report = Report {
        date: command_line("date", &["-u"]),
        machine: Machine::read(),
        kafka: ftgo_harness::prereqs::kafka_description(),
        ..Default::default()
    };

    progress("starting PostgreSQL (fsync=on) and the broker");
    let mut stack = Stack::start_with(StackOptions {
        fsync: true,
        private_broker: true,
        ..Default::default()
    })
    .await
    .context("start the stack")?;
    let db = stack.database(SERVICE).clone();
    let mut client = db.connect().await?;
    outbox::schema::migrate(&mut client, OutboxMode::LogTailing).await?;
    // Right after the migration, before any message: every slot sees the whole backlog.
    for round in 1..=ROUNDS {
        let compared = compare_relay().map(|_| compare_slot(round));
        for slot in std::iter::once(yardstick_slot(round))
            .chain(relay_slot(round))
            .chain(compared)
        {
            create_slot(&client, &slot).await?;
        }
    }
    report.postgres = client
        .query_one("SHOW server_version", &[])
        .await?
        .get::<_, String>(0);
    stack.broker.create_topic(TOPIC, PARTITIONS).await?;
    stack.broker.create_topic(RAW_TOPIC, PARTITIONS).await?;

    // 2. The backlog, through the outbox API.
    let transactions = Arc::new(backlog_messages());
    let rows = transactions.iter().map(Vec::len).sum::<usize>();
    let lsn_before = current_lsn(&client).await?;
    progress(&format!(
        "writing {rows} outbox rows in {TRANSACTIONS} transactions over {WRITERS} connections"
    ));
    let layout = Layout::Ftgo(OutboxMode::LogTailing);
    let took = database::write_backlog(&db, transactions.clone(), layout).await?;
    let lsn_after = current_lsn(&client).await?;
    report.backlog = Backlog {
        rows,
        transactions: TRANSACTIONS,
        writers: WRITERS,
        seconds: took.as_secs_f64(),
        wal_bytes: lsn_after.1.saturating_sub(lsn_before.1),
        end_lsn: lsn_after.0.clone(),
    };
    progress(&format!(
        "backlog written in {:.1} s ({:.0} tx/s), {:.1} MiB of WAL, ends at {}",
        took.as_secs_f64(),
        TRANSACTIONS as f64 / took.as_secs_f64(),
        report.backlog.wal_bytes as f64 / MIB,
        lsn_after.0
    ));

    // Both yardsticks and the relay should meet the same quiet server: vacuum the
    // outbox's dead rows now rather than let autovacuum do it during one measurement.
    progress("vacuum, checkpoint, wait for autovacuum to finish");
    quiesce(&stack, &db, "outbox").await?;

    // 3. Rounds of (a) pg_recvlogical, (b) a bare producer, (c) the relay.
    let mut relay = None;
    for round in 1..=ROUNDS {
        let slot = yardstick_slot(round);
        progress(&format!(
            "round {round}/{ROUNDS}: (a) pg_recvlogical on slot {slot}"
        ));
        let mut a = yardsticks::recvlogical(&stack, &db, &lsn_after.0, rows, &slot).await?;
        let confirmed: Option<String> = client
            .query_one(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await?
            .get(0);
        a.confirmed = confirmed.unwrap_or_default();
        client
            .query_one("SELECT pg_drop_replication_slot($1)", &[&slot])
            .await?;
        progress(&format!("round {round}: (a) {}", a.rate));

        progress(&format!(
            "round {round}/{ROUNDS}: (b) raw rdkafka produce of the same records"
        ));
        let b = yardsticks::raw_produce(&stack, &transactions).await?;
        progress(&format!("round {round}: (b) {}", b.rate));

        // The relay, started only now: the backlog waits in its slot. The last one keeps
        // running for the steady phase.
        let last = round == ROUNDS;
        progress(&format!(
            "round {round}/{ROUNDS}: (c) the relay on slot {}",
            relay_slot(round).unwrap_or_else(|| outbox::schema::slot_name(SERVICE))
        ));
        let slot = relay_slot(round).map(|slot| ("FTGO_RELAY__SLOT".to_owned(), slot));
        let compare_first = round % 2 == 0;
        let mut c2 = None;
        if compare_first {
            c2 = compared_drain(&mut stack, round, rows).await?;
        }
        let (c, address, pid) =
            drain::relay_drain(&mut stack, SERVICE, rows, slot, None, last).await?;
        progress(&format!("round {round}: (c) {}", c.rate));
        if !compare_first {
            c2 = compared_drain(&mut stack, round, rows).await?;
        }
        report.rounds.push(Round { a, b, c, c2 });
        if last {
            relay = Some((address, pid));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (address, pid) = relay.context("no relay")?;

    // 4. Latency at a steady load: at STEADY_RATE, then at the highest rate PostgreSQL
    // sustains with the outbox transaction (pgbench's, in this run).
    progress(&format!(
        "steady load: {STEADY_RATE} tx/s for {STEADY_SECS} s over {STEADY_WRITERS} connections"
    ));
    report.steady = steady::steady(&stack, &db, (address, pid), STEADY_RATE, rows).await?;
    progress("pgbench: the outbox transaction unpaced, to find PostgreSQL's limit");
    report.limit = steady::postgres_limit(&stack, &db).await?;
    let limit_rate = (report.limit.run.tps as u64) / STEADY_WRITERS * STEADY_WRITERS;
    progress(&format!(
        "pgbench: {:.0} tx/s; steady load at {limit_rate} tx/s for {STEADY_SECS} s",
        report.limit.run.tps
    ));
    let written =
        rows + report.steady.transactions as usize + report.limit.run.transactions as usize;
    report.at_limit = steady::steady(&stack, &db, (address, pid), limit_rate, written).await?;

    // 5. The polling mode over the same backlog.
    report.polling = drain::polling_drains(&mut stack, &transactions).await?;
    drop(transactions);
    let debezium = debezium::compare(&mut stack).await?;
    report.total_seconds = started.elapsed().as_secs_f64();
    drop(stack);

    // 6. The report.
    let text = debezium.append_to(report.render());
    println!("{text}");
    Ok(())
}

fn progress(line: &str) {
    eprintln!("[bench relay] {line}");
}

/// pg_recvlogical's slot in `round`.
fn yardstick_slot(round: usize) -> String {
    if round == 1 {
        BENCH_SLOT.to_owned()
    } else {
        format!("{BENCH_SLOT}_{round}")
    }
}

/// The relay's slot in `round`: its default (the migration's) in round 1.
fn relay_slot(round: usize) -> Option<String> {
    (round > 1).then(|| format!("bench_relay_{round}"))
}

/// The relay executable to compare with ([`COMPARE_RELAY`]), if one is named.
fn compare_relay() -> Option<std::path::PathBuf> {
    std::env::var_os(COMPARE_RELAY).map(std::path::PathBuf::from)
}

/// The compared relay's slot in `round`.
fn compare_slot(round: usize) -> String {
    format!("bench_compare_{round}")
}

/// (c2): the compared relay's drain in `round`, when [`COMPARE_RELAY`] names one.
async fn compared_drain(
    stack: &mut Stack,
    round: usize,
    rows: usize,
) -> anyhow::Result<Option<drain::RelayDrain>> {
    let Some(binary) = compare_relay() else {
        return Ok(None);
    };
    progress(&format!(
        "round {round}/{ROUNDS}: (c2) the relay at {} on slot {}",
        binary.display(),
        compare_slot(round)
    ));
    let slot = Some(("FTGO_RELAY__SLOT".to_owned(), compare_slot(round)));
    let (c2, _, _) = drain::relay_drain(stack, SERVICE, rows, slot, Some(&binary), false).await?;
    progress(&format!("round {round}: (c2) {}", c2.rate));
    Ok(Some(c2))
}

/// `NAME=value` pairs, comma-separated, from the environment variable `name`.
fn env_pairs(name: &str) -> Vec<(String, String)> {
    std::env::var(name)
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// The extra environment of every relay the benchmark starts ([`RELAY_ENV`]).
fn relay_env() -> Vec<(String, String)> {
    env_pairs(RELAY_ENV)
}

/// Every CPU figure's processes besides the measured one: PostgreSQL's postmaster and
/// backends (by role, so that the WAL sender shows), the broker, and this process.
fn stack_cpu(postmaster: u32, broker: u32) -> CpuSources {
    postgres_cpu(postmaster)
        .process("broker", broker)
        .process("bench", std::process::id())
}

/// PostgreSQL's postmaster and its backends, by role.
fn postgres_cpu(postmaster: u32) -> CpuSources {
    CpuSources::default().tree(postmaster, postgres_role)
}

/// A PostgreSQL process's role, from its command line.
fn postgres_role(cmdline: &str) -> &'static str {
    if cmdline.contains("walsender") {
        "walsender"
    } else if cmdline.contains("autovacuum") {
        "autovacuum"
    } else {
        "postgres"
    }
}
