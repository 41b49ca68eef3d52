//! Throughput's yardstick: pgbench running the SQL of `POST /v1/orders` (the replica
//! SELECT, then one transaction: the order INSERT, the outbox `INSERT … SELECT FROM
//! unnest(…)` of the same three messages, the DELETE) at wrk's client count and duration.

use std::time::{Duration, Instant};

use ftgo_harness::Stack;
use ftgo_harness::pgbench::{self, OutboxRow, sql_json};
use serde_json::Value;
use uuid::Uuid;

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

/// The pgbench script: `POST /v1/orders`'s SQL, statement for statement
/// (order-service's repository::menu, repository::insert, outbox::append).
fn pgbench_script(templates: &[OutboxRow], topics: &[String], restaurant: Uuid) -> String {
    let created: Value = serde_json::from_slice(&templates[0].payload).expect("OrderCreated");
    let messages: Vec<OutboxRow> = templates
        .iter()
        .zip(topics)
        .map(|(t, topic)| OutboxRow {
            destination: topic.clone(),
            ..t.clone()
        })
        .collect();
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
{append}COMMIT;
",
        bench_consumer = Uuid::nil(),
        line_items = sql_json(&created["line_items"]),
        total = created["total_cents"].as_i64().expect("total_cents"),
        append = pgbench::outbox_append(&messages),
    )
}

/// pgbench with `clients` connections for `THROUGHPUT`, running [`pgbench_script`].
pub(crate) async fn run_pgbench(
    stack: &mut Stack,
    clients: u32,
    templates: &[OutboxRow],
    restaurant: Uuid,
) -> PgbenchResult {
    // Same-length topics no service consumes: the relay publishes pgbench's messages as
    // it does the service's, and no consumer acts on them.
    let mut topics = Vec::new();
    for t in templates {
        let name = format!(
            "pgbench.{}",
            "x".repeat(t.destination.len().saturating_sub(8))
        );
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
    let run = pgbench::run(&stack.postgres, &db, &script, clients, THROUGHPUT);
    let (run, top) = tokio::join!(run, async {
        tokio::time::sleep(THROUGHPUT / 2).await;
        top_snapshot().await
    });
    let run = run.expect("pgbench");
    settle().await;
    let observed = meter.finish(stack, top).await;
    PgbenchResult {
        tps: run.tps,
        transactions: run.transactions,
        latency_ms: run.latency_ms,
        failed: run.failed,
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
