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

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use ftgo_harness::Stack;
use ftgo_harness::debezium::{self, DebeziumConnect};

use self::drains::{Drain, Visible, debezium_drain, relay_drain};
use self::steady::{Steady, steady};
use crate::database::{Layout, backlog_messages, create_slot, quiesce, write_backlog};
use crate::{PARTITIONS, ROUNDS, STEADY_RATE, STEADY_SECS, TRANSACTIONS, WRITERS};
use crate::{env_pairs, progress};

mod drains;
mod report;
mod steady;

/// The database of this phase: no other phase writes or streams there.
const SERVICE: &str = "restaurant_service";
/// The publication both read (inserts only).
const PUBLICATION: &str = "bench_outboxevent";
/// The topics each writes to (`route.topic.replacement`, a fixed name).
const RELAY_TOPIC: &str = "bench.outboxevent.relay";
const DEBEZIUM_TOPIC: &str = "bench.outboxevent.debezium";

/// What this phase measured, rendered into the report's block by [`Comparison::append_to`].
#[derive(Debug, Default)]
pub(crate) struct Comparison {
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
pub(crate) async fn compare(stack: &mut Stack) -> anyhow::Result<Comparison> {
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
        connector_extra: env_pairs("FTGO_BENCH_DEBEZIUM_CONNECTOR"),
        worker_extra: env_pairs("FTGO_BENCH_DEBEZIUM_WORKER"),
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
            create_slot(&client, &slot).await?;
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
    comparison.backlog_seconds = write_backlog(&db, Arc::new(transactions), Layout::Debezium)
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
    create_slot(&client, slot).await?;
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
