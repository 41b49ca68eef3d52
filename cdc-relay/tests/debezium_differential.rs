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
use std::fmt;
use std::time::{Duration, Instant};

use ftgo_harness::debezium::{self, DebeziumConnect, OutboxConnector, WorkerOptions};
use ftgo_harness::{DEAD_LETTER_TOPIC, Stack};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_postgres::Transaction;
use uuid::Uuid;

use crate::support::SERVICE;

/// The differences the relay keeps, as the test names them, with why. docs/architecture.md
/// ("Debezium outbox compatibility") lists exactly these rows.
const DELIBERATE: [(&str, &str); 6] = [
    (
        "header `__debezium.context.connectorLogicalName` only from Debezium",
        CONTEXT_HEADERS,
    ),
    (
        "header `__debezium.context.connectorName` only from Debezium",
        CONTEXT_HEADERS,
    ),
    (
        "header `__debezium.context.runId` only from Debezium",
        CONTEXT_HEADERS,
    ),
    (
        "header `__debezium.context.taskId` only from Debezium",
        CONTEXT_HEADERS,
    ),
    ("header `traceparent` only from the relay", TRACE_CONTEXT),
    ("header `tracestate` only from the relay", TRACE_CONTEXT),
];

const CONTEXT_HEADERS: &str = "Debezium's context headers (`extended.headers.enabled`, on by \
     default since 3.2) name its connector, plugin, task and run; the relay has no connector or \
     task to name. Consumers of the outbox read `id` and the placed columns; \
     `extended.headers.enabled=false` removes these from Debezium's records too.";

const TRACE_CONTEXT: &str = "The relay forwards the writer's trace context from \
     `tracing.span.context.field` (every entry of the `java.util.Properties` text) so that a \
     consumer's span joins the writer's trace. Debezium reads that column only with \
     OpenTelemetry on Connect's class path (and then sends a `traceparent` of a span of its \
     own); the plain plugin ignores it. A consumer that does not trace ignores the headers.";

/// One set of router options, run by one connector and one relay.
#[derive(Debug)]
struct OptionSet {
    /// Names the slots, the connector and the topic prefixes.
    name: &'static str,
    /// Router options under Debezium's names; the relay gets each as
    /// `FTGO_DEBEZIUM__<NAME>` (`.` written `_`), which is how it maps them.
    router: &'static [(&'static str, &'static str)],
    /// Further connector properties (a converter), for Debezium only.
    connector: &'static [(&'static str, &'static str)],
}

/// Every router option the relay maps appears in at least one set (`table.fields.
/// additional.error.on.missing`, the pre-3.6 name, is not: Debezium 3.6 ignores it).
const OPTION_SETS: [OptionSet; 7] = [
    OptionSet {
        name: "defaults",
        router: &[],
        connector: &[],
    },
    OptionSet {
        name: "placement",
        router: &[(
            "table.fields.additional.placement",
            "type:header:eventType,aggregatetype:header,tenant:header:tenant,attempt:header,\
             urgent:header:urgent,type:header",
        )],
        connector: &[],
    },
    OptionSet {
        name: "routing",
        router: &[
            ("route.topic.regex", "(?<kind>Order|Customer)(.*)"),
            ("route.topic.replacement", "routed.${kind}.v1$2"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "columns",
        router: &[
            ("table.field.event.id", "eventid"),
            ("table.field.event.key", "streamkey"),
            ("table.field.event.payload", "body"),
            ("route.by.field", "stream"),
            ("route.topic.replacement", "custom.${routedByValue}"),
            ("tracing.span.context.field", "tracing"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "tombstones",
        router: &[
            ("route.tombstone.on.empty.payload", "true"),
            ("table.field.event.payload", "body"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "missing",
        router: &[
            (
                "table.fields.additional.placement",
                "type:header:eventType,region:header",
            ),
            ("table.field.additional.missing", "ignore"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "bytea",
        router: &[("table.field.event.payload", "blob")],
        connector: &[(
            "value.converter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        )],
    },
];

/// Debezium's example outbox table, with the columns the option sets name instead of
/// the defaults or place in headers.
const TABLE: &str = "CREATE TABLE outboxevent (
    id uuid PRIMARY KEY,
    aggregatetype varchar(255) NOT NULL,
    aggregateid varchar(255),
    type varchar(255) NOT NULL,
    payload jsonb,
    tracingspancontext varchar(256),
    tenant varchar(64),
    attempt int4 NOT NULL,
    urgent boolean NOT NULL,
    eventid varchar(64) NOT NULL,
    stream varchar(64) NOT NULL,
    streamkey varchar(64) NOT NULL,
    body text,
    tracing text,
    blob bytea
)";

const INSERT: &str = "INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload,
        tracingspancontext, tenant, attempt, urgent, eventid, stream, streamkey, body, tracing,
        blob)
    VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// The relay's publication (inserts only) and Debezium's (every operation).
const RELAY_PUBLICATION: &str = "differential_relay";
const DEBEZIUM_PUBLICATION: &str = "differential_debezium";

const PARTITIONS: i32 = 3;
const READY_WITHIN: Duration = Duration::from_secs(180);
/// How long either side may take to publish the workload once running; only a side
/// that never gets there (a difference) waits this long.
const DRAIN_WITHIN: Duration = Duration::from_secs(90);

/// A trace context as a service using Debezium's tracing writes it.
const TRACE: &str = "#Mon Nov 23 12:00:00 UTC 2026\n\
     traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n\
     tracestate=vendor=a1\n";

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

// ---------------------------------------------------------------------------------------
// Set-up

fn relay_slot(set: &OptionSet) -> String {
    format!("differential_relay_{}", set.name)
}

fn debezium_slot(set: &OptionSet) -> String {
    format!("differential_debezium_{}", set.name)
}

/// What the relay of `set` puts before its topics, after the stack's prefix.
fn relay_part(set: &OptionSet) -> String {
    format!("relay.{}.", set.name)
}

/// What Debezium's connector of `set` puts before its topics, after the stack's prefix.
fn debezium_part(set: &OptionSet) -> String {
    format!("debezium.{}.", set.name)
}

fn relay_prefix(stack: &Stack, set: &OptionSet) -> String {
    stack.topic(&relay_part(set))
}

fn debezium_prefix(stack: &Stack, set: &OptionSet) -> String {
    stack.topic(&debezium_part(set))
}

/// The connector of `set`: its slot, the shared publication (it exists: Debezium leaves
/// it as it is), no snapshot (the workload waits in the slot), the router options, and
/// the topic prefix through a `RegexRouter` after the router.
fn connector(stack: &Stack, set: &OptionSet) -> OutboxConnector {
    let mut connector =
        OutboxConnector::new(&format!("differential_{}", set.name), "public.outboxevent");
    connector.slot = debezium_slot(set);
    connector.publication = DEBEZIUM_PUBLICATION.to_owned();
    connector.publication_autocreate = "disabled".to_owned();
    connector.snapshot_mode = "no_data".to_owned();
    connector.router = set
        .router
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let prefix = debezium_prefix(stack, set);
    connector.extra = [
        ("transforms", "outbox,prefix"),
        (
            "transforms.prefix.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.prefix.regex", "(.*)"),
        (
            "transforms.prefix.replacement",
            format!("{prefix}$1").as_str(),
        ),
        ("topic.creation.default.replication.factor", "1"),
        (
            "topic.creation.default.partitions",
            PARTITIONS.to_string().as_str(),
        ),
    ]
    .iter()
    .chain(set.connector)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    connector
}

/// The relay of `set`: its slot, the inserts-only publication, the router options as
/// `FTGO_DEBEZIUM__*`, its topic prefix.
fn relay_env(set: &OptionSet, prefix: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("FTGO_LAYOUT", "debezium"),
        ("FTGO_RELAY__TABLE", "public.outboxevent"),
        ("FTGO_RELAY__PUBLICATION", RELAY_PUBLICATION),
        ("FTGO_RELAY__SLOT", relay_slot(set).as_str()),
        ("FTGO_KAFKA__TOPIC_PREFIX", prefix),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.extend(set.router.iter().map(|(key, value)| {
        (
            format!("FTGO_DEBEZIUM__{}", key.replace('.', "_").to_uppercase()),
            (*value).to_owned(),
        )
    }));
    env
}

// ---------------------------------------------------------------------------------------
// The workload

/// One outbox row.
#[derive(Debug, Clone)]
struct Event {
    aggregatetype: &'static str,
    aggregateid: Option<String>,
    event_type: String,
    /// `jsonb`, from this text.
    payload: Option<String>,
    tracingspancontext: Option<&'static str>,
    tenant: Option<&'static str>,
    attempt: i32,
    urgent: bool,
    stream: &'static str,
    streamkey: String,
    body: Option<String>,
    tracing: Option<&'static str>,
    blob: Option<Vec<u8>>,
}

impl Event {
    fn new(
        aggregatetype: &'static str,
        aggregateid: &str,
        event_type: &str,
        payload: &str,
    ) -> Self {
        let body = format!("{event_type} of {aggregateid}");
        Self {
            aggregatetype,
            aggregateid: Some(aggregateid.to_owned()),
            event_type: event_type.to_owned(),
            payload: Some(payload.to_owned()),
            tracingspancontext: None,
            tenant: Some("acme"),
            attempt: 1,
            urgent: false,
            stream: "Payments",
            streamkey: format!("s-{aggregateid}"),
            blob: Some(body.as_bytes().to_vec()),
            body: Some(body),
            tracing: None,
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }
}

/// Numbers the rows: ids `00000000-0000-4000-8000-<n>`, event ids `evt-<n>`.
#[derive(Debug, Default)]
struct Writer {
    rows: usize,
}

impl Writer {
    async fn insert(&mut self, tx: &Transaction<'_>, event: &Event) -> Uuid {
        self.rows += 1;
        let id = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | self.rows as u128);
        let eventid = format!("evt-{}", self.rows);
        tx.execute(
            INSERT,
            &[
                &id,
                &event.aggregatetype,
                &event.aggregateid,
                &event.event_type,
                &event.payload,
                &event.tracingspancontext,
                &event.tenant,
                &event.attempt,
                &event.urgent,
                &eventid,
                &event.stream,
                &event.streamkey,
                &event.body,
                &event.tracing,
                &event.blob,
            ],
        )
        .await
        .unwrap();
        id
    }
}

/// Writes the workload; returns the number of rows inserted (each one record per option
/// set: deletes and updates publish nothing).
async fn write_workload(client: &mut tokio_postgres::Client) -> usize {
    let mut writer = Writer::default();

    // Several aggregate types in one transaction; a trace context; numbers as written.
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new(
                "Order",
                "o-1",
                "OrderCreated",
                r#"{"id": 1, "status": "ENTERED", "total": 39.980, "big": 12345678901234567890, "exp": 1e3}"#,
            )
            .with(|e| {
                e.tracingspancontext = Some(TRACE);
                e.tracing = Some(TRACE);
            }),
        )
        .await;
    let customer = writer
        .insert(
            &tx,
            &Event::new("Customer", "c-7", "CustomerCreated", r#"{"name": "Ann"}"#).with(|e| {
                e.tenant = None;
                e.urgent = true;
                e.stream = "Shipping";
            }),
        )
        .await;
    writer
        .insert(
            &tx,
            &Event::new("Order", "o-2", "OrderCreated", r#"{"id": 2}"#).with(|e| e.attempt = 2),
        )
        .await;
    tx.commit().await.unwrap();

    // Inserted and deleted in one transaction, as services using Debezium do.
    let tx = client.transaction().await.unwrap();
    let shipped = writer
        .insert(
            &tx,
            &Event::new(
                "Order",
                "o-1",
                "OrderShipped",
                r#"{"id": 1, "status": "SHIPPED"}"#,
            ),
        )
        .await;
    tx.execute("DELETE FROM outboxevent WHERE id = $1", &[&shipped])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Unicode in key, payload and body.
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new(
                "Customer",
                "c-Zoë-🍕",
                "CustomerRenamed",
                r#"{"name": "Zoë 🍕", "city": "Kraków", "escaped": "\u00e9\u4e2d", "quote": "say \"hi\"", "lines": "a\nb", "family": "👩‍👩‍👧"}"#,
            )
            .with(|e| {
                e.body = Some("Grüße, 世界 🌍\n\ttabbed".to_owned());
                e.blob = Some("Grüße 🌍".as_bytes().to_vec());
                e.tenant = Some("ünïcode-tenant");
            }),
        )
        .await;
    tx.commit().await.unwrap();

    // Large payloads: a 114 kB jsonb, a 288 kB text body, a 100 kB bytea.
    let lines: Vec<String> = (0..3_000)
        .map(|i| format!(r#"{{"item": "item-{i:04}", "quantity": {}}}"#, i % 7))
        .collect();
    let large = format!(r#"{{"lines": [{}]}}"#, lines.join(", "));
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new("Order", "o-2", "OrderLinesAdded", &large).with(|e| {
                e.body = Some("Ärger über 🐛 ".repeat(16_000));
                e.blob = Some((0..100_000u32).map(|i| (i * 31 % 256) as u8).collect());
            }),
        )
        .await;
    tx.commit().await.unwrap();

    // NULL payloads (every payload column), then blank texts and JSON scalars; a NULL
    // key; then an update, which the router drops and the relay never receives.
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new("Order", "o-3", "OrderDeleted", "{}").with(|e| {
                e.payload = None;
                e.body = None;
                e.blob = None;
            }),
        )
        .await;
    for (n, body) in ["", "  \t\n"].into_iter().enumerate() {
        writer
            .insert(
                &tx,
                &Event::new("Invoice", &format!("i-{n}"), "InvoiceVoided", r#""""#).with(|e| {
                    e.body = Some(body.to_owned());
                    e.blob = Some(Vec::new());
                }),
            )
            .await;
    }
    for (n, scalar) in [r#""just a string""#, "42", "null", "[]"]
        .into_iter()
        .enumerate()
    {
        writer
            .insert(
                &tx,
                &Event::new("Invoice", &format!("i-{n}"), "InvoiceNoted", scalar),
            )
            .await;
    }
    writer
        .insert(
            &tx,
            &Event::new(
                "Invoice",
                "unused",
                "InvoiceOrphaned",
                r#"{"orphan": true}"#,
            )
            .with(|e| e.aggregateid = None),
        )
        .await;
    tx.commit().await.unwrap();
    client
        .execute(
            "UPDATE outboxevent SET type = 'CustomerUpdated' WHERE id = $1",
            &[&customer],
        )
        .await
        .unwrap();

    // Order per key: 24 rows over three keys and three aggregate types in one
    // transaction.
    let tx = client.transaction().await.unwrap();
    for i in 0..24 {
        let key = ["o-1", "o-2", "c-7"][i % 3];
        let aggregatetype = match i % 3 {
            2 => "Customer",
            _ if i % 4 == 0 => "OrderLine",
            _ => "Order",
        };
        writer
            .insert(
                &tx,
                &Event::new(
                    aggregatetype,
                    key,
                    &format!("Step{i}"),
                    &format!(r#"{{"seq": {i}}}"#),
                )
                .with(|e| {
                    e.attempt = i as i32;
                    e.urgent = i % 2 == 0;
                    e.tenant = (i % 5 != 0).then_some("acme");
                    e.stream = ["Payments", "Shipping"][i % 2];
                }),
            )
            .await;
    }
    tx.commit().await.unwrap();
    writer.rows
}

// ---------------------------------------------------------------------------------------
// Reading

/// A record as the broker holds it: bytes and nulls as they are.
#[derive(Debug, Clone)]
struct Record {
    /// Without the side's prefix.
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Lists, counts and reads topics by prefix.
struct Reader {
    consumer: BaseConsumer,
    bootstrap: String,
}

impl Reader {
    fn new(bootstrap: &str) -> Self {
        Self {
            consumer: ClientConfig::new()
                .set("bootstrap.servers", bootstrap)
                .create()
                .unwrap(),
            bootstrap: bootstrap.to_owned(),
        }
    }

    /// The topics named `prefix…` (without the prefix), with their partition counts.
    fn topics(&self, prefix: &str) -> Vec<(String, i32)> {
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
    fn visible(&self, prefix: &str) -> usize {
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
    fn read(&self, prefix: &str) -> Vec<Record> {
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

// ---------------------------------------------------------------------------------------
// Comparing

/// Which side published something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Debezium,
    Relay,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Debezium => "Debezium",
            Self::Relay => "the relay",
        })
    }
}

/// A kind of difference; its text is what [`DELIBERATE`] and the doc's table name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    TopicOnlyFrom(Side),
    RecordOnlyFrom(Side),
    Partition,
    Value,
    HeaderOnlyFrom(Side, String),
    HeaderValue(String),
    HeaderOrder,
    DeadLettered,
    ConnectorFailed,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TopicOnlyFrom(side) => write!(f, "topic only from {side}"),
            Self::RecordOnlyFrom(side) => write!(f, "record only from {side}"),
            Self::Partition => write!(f, "partition differs"),
            Self::Value => write!(f, "value differs"),
            Self::HeaderOnlyFrom(side, name) => write!(f, "header `{name}` only from {side}"),
            Self::HeaderValue(name) => write!(f, "header `{name}` differs"),
            Self::HeaderOrder => write!(f, "headers in another order"),
            Self::DeadLettered => write!(f, "row dead-lettered by the relay"),
            Self::ConnectorFailed => write!(f, "Debezium's connector failed"),
        }
    }
}

/// Every difference seen, by kind: how many, and the first few in words.
#[derive(Debug, Default)]
struct Differences(BTreeMap<Kind, (usize, Vec<String>)>);

impl Differences {
    fn note(&mut self, kind: Kind, example: String) {
        let (count, examples) = self.0.entry(kind).or_default();
        *count += 1;
        if examples.len() < 3 {
            examples.push(example);
        }
    }
}

impl fmt::Display for Differences {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return writeln!(f, "  none");
        }
        for (kind, (count, examples)) in &self.0 {
            writeln!(f, "  {kind}: {count}×")?;
            for example in examples {
                writeln!(f, "    e.g. {example}")?;
            }
        }
        Ok(())
    }
}

type ByKey<'a> = BTreeMap<Option<&'a [u8]>, Vec<&'a Record>>;

/// `records` per topic and key, each key's in partition and offset order (one key is on
/// one partition; records without a key, whose partition is either side's choice, have
/// no order between partitions: the workload has one such row).
fn by_topic_and_key(records: &[Record]) -> BTreeMap<&str, ByKey<'_>> {
    let mut grouped: BTreeMap<&str, ByKey<'_>> = BTreeMap::new();
    for record in records {
        grouped
            .entry(&record.topic)
            .or_default()
            .entry(record.key.as_deref())
            .or_default()
            .push(record);
    }
    for keys in grouped.values_mut() {
        for list in keys.values_mut() {
            list.sort_by_key(|r| (r.partition, r.offset));
        }
    }
    grouped
}

/// Compares one option set's streams; returns the number of record pairs compared.
fn compare(set: &str, debezium: &[Record], relay: &[Record], out: &mut Differences) -> usize {
    let (debezium, relay) = (by_topic_and_key(debezium), by_topic_and_key(relay));
    let topics: BTreeSet<&str> = debezium.keys().chain(relay.keys()).copied().collect();
    let mut pairs = 0;
    for topic in topics {
        let (d, r) = match (debezium.get(topic), relay.get(topic)) {
            (Some(d), Some(r)) => (d, r),
            (only, _) => {
                let side = if only.is_some() {
                    Side::Debezium
                } else {
                    Side::Relay
                };
                out.note(Kind::TopicOnlyFrom(side), format!("{set}: {topic}"));
                continue;
            }
        };
        let keys: BTreeSet<Option<&[u8]>> = d.keys().chain(r.keys()).copied().collect();
        for key in keys {
            let empty = Vec::new();
            let (d, r) = (d.get(&key).unwrap_or(&empty), r.get(&key).unwrap_or(&empty));
            for index in 0..d.len().max(r.len()) {
                let at = format!(
                    "{set}: {topic}, key {}, #{index}",
                    show(&key.map(<[u8]>::to_vec))
                );
                match (d.get(index), r.get(index)) {
                    (Some(d), Some(r)) => {
                        pairs += 1;
                        compare_records(&at, d, r, out);
                    }
                    (Some(_), None) => out.note(Kind::RecordOnlyFrom(Side::Debezium), at),
                    (None, _) => out.note(Kind::RecordOnlyFrom(Side::Relay), at),
                }
            }
        }
    }
    pairs
}

fn compare_records(at: &str, d: &Record, r: &Record, out: &mut Differences) {
    if d.key.is_some() && d.partition != r.partition {
        out.note(
            Kind::Partition,
            format!("{at}: Debezium {}, relay {}", d.partition, r.partition),
        );
    }
    if d.value != r.value {
        out.note(
            Kind::Value,
            format!(
                "{at}: Debezium {}, relay {}",
                show(&d.value),
                show(&r.value)
            ),
        );
    }
    let names = |headers: &[(String, Option<Vec<u8>>)]| -> BTreeSet<String> {
        headers.iter().map(|(name, _)| name.clone()).collect()
    };
    let (d_names, r_names) = (names(&d.headers), names(&r.headers));
    for name in d_names.difference(&r_names) {
        out.note(
            Kind::HeaderOnlyFrom(Side::Debezium, name.clone()),
            at.into(),
        );
    }
    for name in r_names.difference(&d_names) {
        out.note(Kind::HeaderOnlyFrom(Side::Relay, name.clone()), at.into());
    }
    let common = |headers: &[(String, Option<Vec<u8>>)]| -> Vec<(String, Option<Vec<u8>>)> {
        headers
            .iter()
            .filter(|(name, _)| d_names.contains(name) && r_names.contains(name))
            .cloned()
            .collect()
    };
    let (d_common, r_common) = (common(&d.headers), common(&r.headers));
    if d_common == r_common {
        return;
    }
    let mut named = false;
    for name in d_names.intersection(&r_names) {
        let values = |headers: &[(String, Option<Vec<u8>>)]| -> Vec<String> {
            headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, value)| show(value))
                .collect()
        };
        let (dv, rv) = (values(&d_common), values(&r_common));
        if dv != rv {
            named = true;
            out.note(
                Kind::HeaderValue(name.clone()),
                format!("{at}: Debezium {dv:?}, relay {rv:?}"),
            );
        }
    }
    if !named {
        let order = |headers: &[(String, Option<Vec<u8>>)]| -> Vec<String> {
            headers.iter().map(|(name, _)| name.clone()).collect()
        };
        out.note(
            Kind::HeaderOrder,
            format!(
                "{at}: Debezium {:?}, relay {:?}",
                order(&d_common),
                order(&r_common)
            ),
        );
    }
}

/// What one side's stream of an option set holds that the workload is meant to
/// exercise.
#[derive(Debug, Clone, Copy)]
struct Coverage {
    topics: usize,
    null_keys: usize,
    null_values: usize,
    null_headers: usize,
}

impl Coverage {
    fn of(records: &[Record]) -> Self {
        Self {
            topics: records
                .iter()
                .map(|r| r.topic.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            null_keys: records.iter().filter(|r| r.key.is_none()).count(),
            null_values: records.iter().filter(|r| r.value.is_none()).count(),
            null_headers: records
                .iter()
                .flat_map(|r| &r.headers)
                .filter(|(_, value)| value.is_none())
                .count(),
        }
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} topics, {} null keys, {} null values, {} null headers",
            self.topics, self.null_keys, self.null_values, self.null_headers
        )
    }
}

/// Bytes for a message: `null`, or the text (lossy), cut after 60 characters.
fn show(bytes: &Option<Vec<u8>>) -> String {
    match bytes {
        None => "null".to_owned(),
        Some(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let cut: String = text.chars().take(60).collect();
            if cut.len() < text.len() {
                format!("{cut:?}… ({} bytes)", bytes.len())
            } else {
                format!("{cut:?}")
            }
        }
    }
}

fn first_lines(text: &str, lines: usize) -> String {
    text.lines().take(lines).collect::<Vec<_>>().join(" / ")
}
