//! Debezium as the oracle: one SQL workload written to one Debezium-layout table, read
//! by Debezium 3.6.1.Final (its PostgreSQL connector with the Outbox Event Router, on a
//! Kafka Connect standalone worker: `ftgo_harness::debezium`) and by the relay in
//! `FTGO_LAYOUT=debezium`, once per set of router options ([`OPTION_SETS`]: every option
//! the relay maps). The two record streams are compared per topic and key, in order:
//! topic (without each side's prefix), partition, key bytes, value bytes (or null),
//! headers (names, order, bytes or null). Record timestamps are not compared: the
//! relay's is the commit time, Debezium's the time it processed the change
//! (docs/architecture.md).
//!
//! How both read one table on one broker without meeting:
//! - **Slots.** Each option set has a slot for the relay and one for Debezium, created
//!   with the two publications before the workload, so each slot holds all of it. The
//!   relay's publication carries inserts (what the relay creates for itself); Debezium's
//!   every operation (what its `filtered` autocreation makes), so Debezium also sees the
//!   workload's deletes and update and its router has to drop them.
//! - **Topics.** The relay runs with `kafka.topic_prefix = <stack>relay.<set>.`;
//!   Debezium's connector puts `<stack>debezium.<set>.` before the router's topic with
//!   Kafka's `RegexRouter` as a second transform. Both sides thus run the same router
//!   options; a per-side `route.topic.replacement` would change the very option under
//!   test. Connect creates Debezium's topics as the router names them (`topic.creation`,
//!   3 partitions); the relay's are created from that list afterwards, so the test never
//!   decides a topic name: a relay routing elsewhere would wait for its topic and miss
//!   records, a difference.
//! - **Converters.** `StringConverter` for keys and values (the worker's) and Connect's
//!   default header converter, as Debezium's outbox documentation pairs with the router.
//!   The `bytea` set gives its connector `ByteArrayConverter` (with Debezium's default
//!   `binary.handling.mode=bytes`), the pairing for a binary payload. `JsonConverter` is
//!   not compared: the relay publishes the payload's own text and emulates no schema
//!   envelope (docs/architecture.md).
//! - **One JVM.** One worker runs a connector per option set
//!   (`DebeziumConnect::start_many`): a JVM start costs seconds on two cores.
//!
//! Differences: [`DELIBERATE`] lists the kinds the relay keeps, with why. The test fails
//! on any other kind, and on a listed one it no longer observes;
//! `the_compatibility_table_lists_exactly_the_deliberate_differences` checks that
//! docs/architecture.md lists exactly these.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use ftgo_harness::debezium::{self, DebeziumConnect, OutboxConnector, WorkerOptions};
use ftgo_harness::{DEAD_LETTER_TOPIC, Stack};

use self::comparing::{Coverage, Differences, Kind, compare, first_lines, show};
use self::options::{DELIBERATE, OPTION_SETS, connector, debezium_part, debezium_prefix};
use self::options::{debezium_slot, relay_env, relay_part, relay_prefix, relay_slot};
use self::reading::{Reader, Record};
use self::workload::{TABLE, write_workload};
use crate::support::SERVICE;

mod comparing;
mod options;
mod reading;
mod workload;

/// The relay's publication (inserts only) and Debezium's (every operation).
const RELAY_PUBLICATION: &str = "differential_relay";
const DEBEZIUM_PUBLICATION: &str = "differential_debezium";

const PARTITIONS: i32 = 3;
const READY_WITHIN: Duration = Duration::from_secs(180);
/// How long either side may take to publish the workload once running; only a side
/// that never gets there (a difference) waits this long.
const DRAIN_WITHIN: Duration = Duration::from_secs(90);

#[tokio::test]
async fn the_relay_publishes_what_debeziums_outbox_event_router_publishes() {
    let started = Instant::now();
    if !debezium::connector_plugin().is_dir() || !debezium::worker_libs().is_dir() {
        // `cargo dev install` resolves them; a plain `cargo test` on a fresh machine
        // resolves them here.
        tokio::task::spawn_blocking(|| debezium::ensure_installed(&|line| eprintln!("{line}")))
            .await
            .unwrap()
            .unwrap();
    }
    let mut stack = Stack::start().await.unwrap();
    let db = stack.database(SERVICE).clone();
    let mut client = db.connect().await.unwrap();
    client.batch_execute(TABLE).await.unwrap();
    client
        .batch_execute(&format!(
            "CREATE PUBLICATION {RELAY_PUBLICATION} FOR TABLE outboxevent
                 WITH (publish = 'insert');
             CREATE PUBLICATION {DEBEZIUM_PUBLICATION} FOR TABLE outboxevent;"
        ))
        .await
        .unwrap();
    for set in &OPTION_SETS {
        for slot in [relay_slot(set), debezium_slot(set)] {
            client
                .query_one(
                    "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                    &[&slot],
                )
                .await
                .unwrap();
        }
    }
    let rows = write_workload(&mut client).await;
    eprintln!(
        "differential: {rows} rows written, {} option sets ({:.1} s)",
        OPTION_SETS.len(),
        started.elapsed().as_secs_f64()
    );
    let reader = Reader::new(&stack.broker.bootstrap_servers());

    // Debezium: one worker, a connector per option set.
    let connectors: Vec<OutboxConnector> = OPTION_SETS
        .iter()
        .map(|set| connector(&stack, set))
        .collect();
    let options = WorkerOptions {
        heap_opts: "-Xms128M -Xmx512M".to_owned(),
        extra: Vec::new(),
    };
    let mut worker = DebeziumConnect::start_many(
        &stack.dir().join("debezium"),
        stack.logs_dir(),
        &stack.broker.bootstrap_servers(),
        &db,
        &connectors,
        &options,
    )
    .unwrap();
    worker.wait_running(READY_WITHIN).await.unwrap();
    eprintln!(
        "differential: Debezium running ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    let mut failed: BTreeMap<&str, String> = BTreeMap::new();
    let deadline = Instant::now() + DRAIN_WITHIN;
    loop {
        let mut waiting = Vec::new();
        for (set, connector) in OPTION_SETS.iter().zip(&connectors) {
            if failed.contains_key(set.name)
                || reader.visible(&debezium_prefix(&stack, set)) >= rows
            {
                continue;
            }
            // A failed task never publishes the rest: stop waiting for it.
            match worker.failure_of(&connector.name).await {
                Some(trace) => {
                    failed.insert(set.name, trace);
                }
                None => waiting.push(set.name),
            }
        }
        assert!(
            worker.is_running(),
            "Debezium's worker exited: {}",
            worker.log_tail(40)
        );
        if waiting.is_empty() || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "differential: Debezium published ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    // Its records are in; no offsets to keep: a graceful stop would only cost seconds.
    worker.kill9();

    // The relays, on the topics Debezium wrote to (under their own prefix), created
    // all at once.
    let mut topics = Vec::new();
    for set in &OPTION_SETS {
        let relay_prefix = relay_prefix(&stack, set);
        topics.extend(
            reader
                .topics(&debezium_prefix(&stack, set))
                .into_iter()
                .map(|(topic, partitions)| (format!("{relay_prefix}{topic}"), partitions)),
        );
        topics.push((format!("{relay_prefix}{DEAD_LETTER_TOPIC}"), 1));
    }
    futures_util::future::try_join_all(
        topics
            .iter()
            .map(|(topic, partitions)| stack.broker.create_topic(topic, *partitions)),
    )
    .await
    .unwrap();
    for set in &OPTION_SETS {
        let env = relay_env(set, &relay_prefix(&stack, set));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        stack.start_relay(SERVICE, &env).await.unwrap();
    }
    for index in 0..OPTION_SETS.len() {
        stack
            .relay_instance(SERVICE, index)
            .wait_ready(Duration::from_secs(60))
            .await
            .unwrap();
    }
    let deadline = Instant::now() + DRAIN_WITHIN;
    // Dead letters count: a row the relay dead-letters is not coming to its topic.
    while OPTION_SETS
        .iter()
        .any(|set| reader.visible(&relay_prefix(&stack, set)) < rows)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "differential: relays published ({:.1} s)",
        started.elapsed().as_secs_f64()
    );

    // Everything the stack's topics hold, read once, then split by side and set.
    let everything = reader.read(&stack.topic(""));
    let under = |prefix: &str| -> Vec<Record> {
        everything
            .iter()
            .filter_map(|record| {
                let topic = record.topic.strip_prefix(prefix)?;
                Some(Record {
                    topic: topic.to_owned(),
                    ..record.clone()
                })
            })
            .collect()
    };
    let mut differences = Differences::default();
    let mut coverages = BTreeMap::new();
    let mut compared = 0;
    for set in &OPTION_SETS {
        if let Some(trace) = failed.get(set.name) {
            differences.note(
                Kind::ConnectorFailed,
                format!("{}: {}", set.name, first_lines(trace, 3)),
            );
        }
        let debezium = under(&debezium_part(set));
        let (letters, relay): (Vec<Record>, Vec<Record>) = under(&relay_part(set))
            .into_iter()
            .partition(|record| record.topic == DEAD_LETTER_TOPIC);
        for letter in letters {
            let reason = letter
                .headers
                .iter()
                .find(|(name, _)| name == "dead-letter-reason")
                .map(|(_, value)| show(value))
                .unwrap_or_default();
            differences.note(
                Kind::DeadLettered,
                format!("{}: key {}: {reason}", set.name, show(&letter.key)),
            );
        }
        let pairs = compare(set.name, &debezium, &relay, &mut differences);
        let coverage = Coverage::of(&debezium);
        eprintln!(
            "differential: {:<10} Debezium {} records, relay {}, {pairs} pairs compared \
             ({coverage})",
            set.name,
            debezium.len(),
            relay.len(),
        );
        coverages.insert(set.name, coverage);
        compared += pairs;
    }
    // The workload exercises what the option sets are for, as Debezium publishes it.
    let coverage = |name: &str| coverages[name];
    assert!(coverage("defaults").null_values >= 1, "a NULL payload");
    assert!(coverage("defaults").null_keys >= 1, "a NULL key");
    assert!(
        coverage("tombstones").null_values > coverage("columns").null_values,
        "blank payloads made tombstones by route.tombstone.on.empty.payload"
    );
    assert!(
        coverage("placement").null_headers >= 1,
        "a NULL placed column"
    );
    assert!(
        coverage("routing").topics >= 4,
        "matched and unmatched routes"
    );
    eprintln!(
        "differential: {compared} record pairs compared in {:.1} s; differences:\n{differences}",
        started.elapsed().as_secs_f64()
    );

    let deliberate: BTreeSet<&str> = DELIBERATE.iter().map(|(kind, _)| *kind).collect();
    let observed: BTreeSet<String> = differences.0.keys().map(Kind::to_string).collect();
    let unexpected: Vec<&String> = observed
        .iter()
        .filter(|kind| !deliberate.contains(kind.as_str()))
        .collect();
    let unobserved: Vec<&&str> = deliberate
        .iter()
        .filter(|kind| !observed.contains(**kind))
        .collect();
    assert!(
        unexpected.is_empty() && unobserved.is_empty(),
        "differences not listed as deliberate: {unexpected:#?}\nlisted but not observed: \
         {unobserved:#?}\n(all observed above; logs in {})",
        stack.logs_dir().display()
    );
    assert_eq!(
        compared,
        rows * OPTION_SETS.len(),
        "every row of every option set compared"
    );
}

/// The table in docs/architecture.md is [`DELIBERATE`], row for row.
#[test]
fn the_compatibility_table_lists_exactly_the_deliberate_differences() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/architecture.md"),
    )
    .unwrap();
    let expected: Vec<String> = DELIBERATE
        .iter()
        .map(|(kind, why)| format!("| {kind} | {why} |"))
        .collect();
    let rows: Vec<&str> = doc
        .lines()
        .skip_while(|line| !line.starts_with(TABLE_HEADING))
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert_eq!(
        rows,
        expected,
        "docs/architecture.md should have, under \"{TABLE_HEADING}\":\n{TABLE_HEADING}\n|---|---|\n{}",
        expected.join("\n")
    );
}

/// The header row of the table of deliberate differences in docs/architecture.md.
const TABLE_HEADING: &str =
    "| Difference the differential test observes | Why the relay keeps it |";
