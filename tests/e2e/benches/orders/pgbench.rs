//! Throughput's yardstick: pgbench running the SQL of `POST /v1/orders` (the replica
//! SELECT, then one transaction: the order INSERT, the outbox `INSERT … SELECT FROM
//! unnest(…)` of the same three messages, the DELETE) at wrk's client count and duration.

use std::fmt::Write as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use ftgo_harness::Stack;
use serde_json::Value;
use uuid::Uuid;

use crate::setup::Template;
use crate::system::{Observed, RunMeter, settle, top_snapshot};
use crate::{THROUGHPUT, VALIDATION_DEADLINE_MS, step};

/// pgbench's run of `POST /v1/orders`'s SQL.
#[derive(Debug, Clone)]
pub(crate) struct PgbenchResult {
    pub(crate) tps: f64,
    pub(crate) transactions: u64,
    pub(crate) latency_ms: f64,
    pub(crate) failed: u64,
    pub(crate) observed: Observed,
}

fn sql_text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// JSON for pgbench: pretty-printed so no `:` touches a name character (pgbench would
/// take `:2` for a variable); jsonb stores it the same either way.
fn sql_json<T: serde::Serialize>(value: &T) -> String {
    sql_text(&serde_json::to_string_pretty(value).expect("json"))
}

/// The pgbench script: `POST /v1/orders`'s SQL, statement for statement
/// (order-service's repository::menu, repository::insert, outbox::append).
fn pgbench_script(templates: &[Template], topics: &[String], restaurant: Uuid) -> String {
    let created: Value = serde_json::from_slice(&templates[0].payload).expect("OrderCreated");
    let array = |items: Vec<String>, ty: &str| format!("ARRAY[{}]::{ty}[]", items.join(", "));
    let destinations = array(topics.iter().map(|t| sql_text(t)).collect(), "text");
    let keys = array(templates.iter().map(|t| sql_text(&t.key)).collect(), "text");
    let types = array(
        templates
            .iter()
            .map(|t| sql_text(&t.message_type))
            .collect(),
        "text",
    );
    let versions = array(
        templates
            .iter()
            .map(|t| t.schema_version.to_string())
            .collect(),
        "int4",
    );
    let headers = array(
        templates.iter().map(|t| sql_json(&t.headers)).collect(),
        "jsonb",
    );
    let payloads = array(
        templates
            .iter()
            .map(|t| format!("'\\x{}'", hex(&t.payload)))
            .collect(),
        "bytea",
    );
    let ids = array(
        vec!["gen_random_uuid()".to_owned(); templates.len()],
        "uuid",
    );
    // A UUIDv7-shaped id (time first), as Order::create makes: the primary key index
    // grows at its right edge as it does for the service.
    let order_id = "(lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') \
                    || '7' || substr(md5(random()::text), 1, 19))::uuid";
    format!(
        "-- order-service's POST /v1/orders, statement for statement (benches/orders/pgbench.rs)
SELECT menu FROM restaurant_replica WHERE restaurant_id = '{restaurant}';
BEGIN;
INSERT INTO orders (id, consumer_id, restaurant_id, line_items, total_cents, state,
                    validation_deadline)
VALUES ({order_id}, '{bench_consumer}', '{restaurant}', {line_items}::jsonb, {total}, 'PENDING',
        now() + make_interval(secs => {VALIDATION_DEADLINE_MS}::bigint / 1000.0));
WITH appended AS (
    INSERT INTO outbox
        (id, destination, message_key, message_type, schema_version, headers, payload)
    SELECT * FROM unnest({ids}, {destinations}, {keys}, {types},
                         {versions}, {headers}, {payloads})
    RETURNING sequence)
SELECT array_agg(sequence) AS seqs FROM appended \\gset
DELETE FROM outbox WHERE sequence = ANY(:seqs::int8[]);
COMMIT;
",
        bench_consumer = Uuid::nil(),
        line_items = sql_json(&created["line_items"]),
        total = created["total_cents"].as_i64().expect("total_cents"),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// pgbench with `clients` connections for `THROUGHPUT`, running [`pgbench_script`].
pub(crate) async fn run_pgbench(
    stack: &mut Stack,
    clients: u32,
    templates: &[Template],
    restaurant: Uuid,
) -> PgbenchResult {
    // Same-length topics no service consumes: the relay publishes pgbench's messages as
    // it does the service's, and no consumer acts on them.
    let mut topics = Vec::new();
    for t in templates {
        let name = format!("pgbench.{}", "x".repeat(t.topic.len().saturating_sub(8)));
        stack.broker.create_topic(&name, 3).await.expect("topic");
        topics.push(name);
    }
    let script = stack.dir().join("orders.pgbench.sql");
    std::fs::write(&script, pgbench_script(templates, &topics, restaurant)).expect("script");
    let db = stack.database("order_service").clone();
    step(&format!(
        "pgbench -M extended -c {clients} -j 2 -T {} on {} (script {})",
        THROUGHPUT.as_secs(),
        db.url_without_password(),
        script.display()
    ));
    let meter = RunMeter::start(stack).await;
    let child = tokio::process::Command::new(stack.postgres.bin_dir().join("pgbench"))
        .args(["-n", "-M", "extended", "-j", "2"])
        .arg(format!("-c{clients}"))
        .arg(format!("-T{}", THROUGHPUT.as_secs()))
        .arg("-f")
        .arg(&script)
        .args(["-h", &db.host, "-p", &db.port.to_string(), "-U", &db.user])
        .arg(&db.name)
        // The password reaches the child only.
        .env("PGPASSWORD", &db.password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pgbench");
    tokio::time::sleep(THROUGHPUT / 2).await;
    let top = top_snapshot().await;
    let output = child.wait_with_output().await.expect("pgbench");
    settle().await;
    let observed = meter.finish(stack, top).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{stdout}");
    let find = |prefix: &str| -> f64 {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("pgbench output lacks `{prefix}`"))
    };
    PgbenchResult {
        tps: find("tps ="),
        transactions: find("number of transactions actually processed:") as u64,
        latency_ms: find("latency average ="),
        failed: stdout
            .lines()
            .find_map(|l| l.strip_prefix("number of failed transactions:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0),
        observed,
    }
}

/// Waits until order_service's relay has confirmed everything written so far, so the
/// next run does not share the machine with the previous run's backlog.
pub(crate) async fn wait_relay_caught_up(stack: &Stack) {
    let admin = stack.postgres.superuser("postgres").await.expect("admin");
    let target: String = admin
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .expect("lsn")
        .get(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let caught_up: bool = admin
            .query_one(
                "SELECT coalesce(bool_and(confirmed_flush_lsn >= $1::text::pg_lsn), true)
                 FROM pg_replication_slots WHERE database = 'order_service'",
                &[&target],
            )
            .await
            .expect("slot")
            .get(0);
        if caught_up || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
