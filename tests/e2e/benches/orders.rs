//! order-service under load, through the whole system (docs/benchmarks.md, "Services").
//!
//! ```sh
//! cargo build --release --workspace --bins && cargo bench -p ftgo-e2e --bench orders
//! ```
//!
//! Starts PostgreSQL (fsync on), the broker, the three relays and the three services as
//! real processes (release binaries, found next to this bench executable), then:
//!
//! 1. throughput: pgbench running the SQL of `POST /v1/orders` (the replica SELECT, then
//!    one transaction: the order INSERT, the outbox `INSERT … SELECT FROM unnest(…)` of the
//!    same three messages, the DELETE) and wrk POSTing orders, at the same client count
//!    and duration; prints `orders/pgbench ratio: R`;
//! 2. latency: a paced client (the harness's load engine, `ftgo_harness::load`, which
//!    also made the fixtures and the first order) places orders at a steady rate; for
//!    each, OrderValidated's record timestamp minus OrderCreated's on `order.events` (the
//!    relay stamps records with the source transaction's commit time): commit to
//!    validated-commit;
//! 3. resident memory of each service, idle and after the load;
//!
//! and prints every figure as a markdown block. Bounded: it stops by itself in a few
//! minutes. Everything shares the machine's cores; the CPU each part used is printed per
//! phase. `FTGO_BENCH_CLIENTS` overrides the client count (default 16).

#![allow(
    clippy::print_stdout,
    reason = "a benchmark's report is its standard output"
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ftgo_harness::kafka::{ReceivedRecord, TopicReader};
use ftgo_harness::load::{
    self, Client, Fixtures, Kind, Mix, Pacer, Pacing, Placement, Plan, Target, Until,
};
use ftgo_harness::measure::{
    MachineTicks, clock_ticks, command_line, machine, percentile, rss_kib, ticks, wait_quiet,
};
use ftgo_harness::{SERVICE_BINARIES, SERVICES, Stack, StackOptions};
use serde_json::Value;
use uuid::Uuid;

/// Concurrent clients of wrk and of pgbench.
const DEFAULT_CLIENTS: u32 = 16;
/// Duration of each throughput run.
const THROUGHPUT: Duration = Duration::from_secs(20);
/// The paced client's rate (orders/s) and duration.
const PACED_RATE: u32 = 200;
const PACED: Duration = Duration::from_secs(30);
/// Requests of the paced client that may be in flight at once.
const PACED_IN_FLIGHT: usize = 64;
/// Long enough that no order of the run is rejected by the deadline sweeper.
const VALIDATION_DEADLINE_MS: &str = "600000";
/// How long the backlog left by the throughput run may take to drain.
const DRAIN_LIMIT: Duration = Duration::from_secs(240);
/// How long to wait for other work on the machine to stop before starting.
const QUIET_LIMIT: Duration = Duration::from_secs(300);
/// How long after the paced run the last validations may take to arrive.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);
/// The idle floor: orders one at a time, 500 ms apart.
const IDLE_ORDERS: usize = 20;
const IDLE_RATE: f64 = 2.0;

fn main() {
    ftgo_harness::measure::run_benchmark("ftgo-e2e", "orders", run());
}

fn step(message: &str) {
    eprintln!("[orders bench] {message}");
}

async fn run() {
    let clients: u32 = std::env::var("FTGO_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CLIENTS);
    ensure_wrk();
    let binaries = ftgo_harness::binaries::path("order-service")
        .expect("release binaries: run `cargo build --release --workspace --bins` first");
    step(&format!(
        "service binaries from {}",
        binaries.parent().unwrap_or(Path::new("")).display()
    ));

    let mut service_env = vec![(
        "order-service".to_owned(),
        "FTGO_ORDERS__VALIDATION_DEADLINE_MS".to_owned(),
        VALIDATION_DEADLINE_MS.to_owned(),
    )];
    // For experiments only: `binary:KEY=VALUE;...` (the report shows them).
    let extra_env = std::env::var("FTGO_BENCH_SERVICE_ENV").unwrap_or_default();
    for setting in extra_env.split(';').filter(|s| !s.trim().is_empty()) {
        let (binary, pair) = setting.split_once(':').expect("binary:KEY=VALUE");
        let (key, value) = pair.split_once('=').expect("binary:KEY=VALUE");
        service_env.push((binary.trim().into(), key.trim().into(), value.trim().into()));
    }
    let quiet = wait_quiet(QUIET_LIMIT, step).await;
    step("starting PostgreSQL (fsync on), Apache Kafka, 3 relays, 3 services");
    let started = Instant::now();
    let mut stack = Stack::start_with(StackOptions {
        fsync: true,
        private_broker: true,
        services: true,
        service_env,
        ..StackOptions::default()
    })
    .await
    .expect("the system starts");
    let start_up = started.elapsed();
    let rss_started = rss_of_services(&mut stack);
    step(&format!(
        "system up in {start_up:.1?}; logs in {}",
        stack.logs_dir().display()
    ));

    // Every order is the load engine's valid order, from its fixtures.
    let target = Target::from_addresses(&stack.addresses()).expect("the stack's addresses");
    let client = Client::new(&target).expect("an HTTP client");
    let fixtures = Fixtures::create(&client)
        .await
        .expect("a consumer and restaurants");
    let order = fixtures.body(Kind::Valid);
    let consumer: Uuid = order["consumer_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("consumer_id");
    let restaurant = fixtures.restaurant_of(Kind::Valid);
    let body = order.to_string();
    let orders_url = format!("{}/v1/orders", target.orders[0]);
    let first = first_order(&client, fixtures, &target).await;
    let templates = message_templates(&stack, &first).await;
    step(&format!("idle floor: {IDLE_ORDERS} orders one at a time"));
    let (_, idle) = place(
        &client,
        fixtures,
        Pacing {
            rate: IDLE_RATE,
            until: Until::Count(IDLE_ORDERS),
            in_flight: 1,
        },
    )
    .await;
    let idle_latency = validation_latency(&stack, &accepted(idle).0).await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = rss_of_services(&mut stack);

    // Throughput: pgbench first (its messages go to topics nobody consumes), then wrk.
    let pgbench = run_pgbench(&mut stack, clients, &templates, restaurant).await;
    wait_relay_caught_up(&stack).await;
    let wrk = run_wrk(&mut stack, clients, &orders_url, &body).await;
    let ratio = wrk.rate / pgbench.tps;

    let drain = drain_backlog(&stack, consumer).await;

    let paced = run_paced(&mut stack, &client, fixtures).await;
    let latency = validation_latency(&stack, &paced.placed).await;
    let rss_loaded = rss_of_services(&mut stack);

    let report = Report {
        clients,
        quiet,
        extra_env,
        idle_latency,
        start_up,
        pgbench,
        wrk,
        ratio,
        drain,
        paced,
        latency,
        rss_started,
        rss_idle,
        rss_loaded,
    };
    println!("{}", report.markdown());
    println!("orders/pgbench ratio: {ratio:.2}");
}

// ----------------------------------------------------------------------------------
// Set-up

fn ensure_wrk() {
    if Command::new("wrk").arg("--version").output().is_ok() {
        return;
    }
    step("wrk missing: apt-get install -y wrk");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let mut install = if root {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    };
    let status = install
        .args(["install", "-y", "-q", "wrk"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .expect("run apt-get");
    assert!(status.success(), "apt-get install wrk failed: {status}");
}

/// The first order, placed once order-service's replica knows the restaurant and
/// followed to VALIDATED; its id.
async fn first_order(client: &Client, fixtures: Fixtures, target: &Target) -> String {
    let plan = Plan {
        mix: Mix::valid_only(),
        pacing: Pacing {
            rate: 1.0,
            until: Until::Count(1),
            in_flight: 1,
        },
        deadline: Duration::from_secs(60),
    };
    let report = load::run_with(client, fixtures, &target.kafka, plan, |_| {})
        .await
        .expect("the first order");
    assert!(report.passed(), "{report}");
    report.accepted[0].0.to_string()
}

/// Places valid orders as `pacing` says; returns how the pacing went and every order.
async fn place(
    client: &Client,
    fixtures: Fixtures,
    pacing: Pacing,
) -> (load::Paced, Vec<Placement>) {
    Pacer::start(client.clone(), fixtures, Mix::valid_only(), pacing)
        .finish()
        .await
}

/// The accepted orders as the latency analysis reads them, and how many were not.
fn accepted(placements: Vec<Placement>) -> (Vec<Placed>, usize) {
    let total = placements.len();
    let placed: Vec<Placed> = placements
        .iter()
        .filter_map(|p| {
            Some(Placed {
                id: p.accepted()?.to_string(),
                sent_ms: p.exchange.sent_ms,
                answered_ms: p.exchange.answered_ms,
                http: p.exchange.response_time,
            })
        })
        .collect();
    let failed = total - placed.len();
    (placed, failed)
}

/// One of the three messages `POST /v1/orders` appends, as the relay published it.
#[derive(Debug, Clone)]
struct Template {
    topic: String,
    key: String,
    message_type: String,
    schema_version: i32,
    /// The outbox `headers` column (the relay adds message-id/-type, schema-version).
    headers: BTreeMap<String, String>,
    payload: Vec<u8>,
}

/// The first order's three messages, read back from the broker: pgbench appends copies
/// of exactly these (same sizes, same headers).
async fn message_templates(stack: &Stack, order_id: &str) -> Vec<Template> {
    let bootstrap = stack.broker.bootstrap_servers();
    let order_id = order_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let topics = [
            "order.events",
            "consumer-service.commands",
            "restaurant-service.commands",
        ];
        let mut reader = TopicReader::new(&bootstrap, &topics).expect("reader");
        let ours = |r: &ReceivedRecord| {
            (r.topic == "order.events"
                && r.key.as_deref() == Some(order_id.as_str())
                && r.header("message-type") == Some("OrderCreated"))
                || (r.topic != "order.events"
                    && r.header("correlation-id") == Some(order_id.as_str()))
        };
        let records = reader
            .read_until(Duration::from_secs(30), |all| {
                all.iter().filter(|r| ours(r)).count() == 3
            })
            .to_vec();
        let mut templates: Vec<Template> = topics
            .iter()
            .map(|topic| {
                let r = records
                    .iter()
                    .find(|r| r.topic == *topic && ours(r))
                    .unwrap_or_else(|| panic!("the first order's message on {topic}"));
                let mut headers = r.headers.clone();
                let message_type = headers.remove("message-type").expect("message-type");
                let schema_version = headers
                    .remove("schema-version")
                    .and_then(|v| v.parse().ok())
                    .expect("schema-version");
                headers.remove("message-id");
                Template {
                    topic: r.topic.clone(),
                    key: r.key.clone().expect("key"),
                    message_type,
                    schema_version,
                    headers,
                    payload: r.payload.clone(),
                }
            })
            .collect();
        templates.sort_by_key(|t| topics.iter().position(|x| *x == t.topic));
        templates
    })
    .await
    .expect("reader task")
}

// ----------------------------------------------------------------------------------
// CPU accounting: which process used the cores during a phase.

/// CPU ticks used so far by each part of the system, and by the whole machine.
#[derive(Debug, Clone)]
struct CpuSample {
    parts: Vec<(String, u64)>,
    /// Every other process on the machine (kernel threads included): pid -> ticks.
    others: HashMap<u32, u64>,
    machine: MachineTicks,
}

fn cpu_sample(stack: &mut Stack) -> CpuSample {
    let mut parts = Vec::new();
    // PostgreSQL: the postmaster, every live backend, and backends already gone (their
    // time is added to the postmaster's children's time when it reaps them).
    let tree = stack.postgres.process_tree();
    let mut ours: HashSet<u32> = tree.iter().copied().collect();
    ours.extend(stack.broker.pid());
    ours.insert(std::process::id());
    let mut postgres = 0;
    for (i, pid) in tree.iter().enumerate() {
        let (own, children) = ticks(&pid.to_string());
        postgres += own + if i == 0 { children } else { 0 };
    }
    parts.push(("postgres (all backends)".to_owned(), postgres));
    let broker = stack.broker.pid().unwrap_or_default();
    parts.push(("kafka".to_owned(), ticks(&broker.to_string()).0));
    let relays: u64 = SERVICES
        .iter()
        .map(|s| {
            let pid = stack.relay(s).pid();
            ours.insert(pid);
            ticks(&pid.to_string()).0
        })
        .sum();
    parts.push(("cdc-relay ×3".to_owned(), relays));
    for binary in SERVICE_BINARIES {
        let pid = stack.service(binary, 0).pid();
        ours.insert(pid);
        parts.push((binary.to_owned(), ticks(&pid.to_string()).0));
    }
    let others = std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| !ours.contains(pid))
                .map(|pid| (pid, ticks(&pid.to_string()).0))
                .collect()
        })
        .unwrap_or_default();
    let (own, children) = ticks("self");
    parts.push(("load generator (wrk/pgbench)".to_owned(), children));
    parts.push(("bench process (paced client, probes)".to_owned(), own));
    CpuSample {
        parts,
        others,
        machine: MachineTicks::now(),
    }
}

/// CPU seconds each part used between two samples.
fn cpu_used(before: &CpuSample, after: &CpuSample) -> Vec<(String, f64)> {
    let hz = clock_ticks();
    let mut used: Vec<(String, f64)> = before
        .parts
        .iter()
        .zip(&after.parts)
        .map(|((name, b), (_, a))| (name.clone(), a.saturating_sub(*b) as f64 / hz))
        .collect();
    let ours: f64 = used.iter().map(|(_, s)| s).sum();
    // Processes present in both samples (one that came and went is in neither).
    let others = after
        .others
        .iter()
        .filter_map(|(pid, a)| Some(a.saturating_sub(*before.others.get(pid)?)))
        .sum::<u64>() as f64
        / hz;
    let busy = after.machine.busy.saturating_sub(before.machine.busy) as f64 / hz;
    used.push((
        "other processes on the machine (kernel threads included)".to_owned(),
        others,
    ));
    used.push((
        "not charged to a process seen twice (interrupts, softirq, short-lived processes)"
            .to_owned(),
        (busy - ours - others).max(0.0),
    ));
    used
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
async fn settle() {
    tokio::time::sleep(Duration::from_secs(1)).await;
}

fn cpu_table(used: &[(String, f64)], wall: Duration) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let total: f64 = used.iter().map(|(_, s)| s).sum();
    let mut out = String::from("| process | CPU s | % of all cores |\n|---|---:|---:|\n");
    for (name, seconds) in used {
        let _ = writeln!(
            out,
            "| {name} | {seconds:.1} | {:.0} % |",
            100.0 * seconds / (wall.as_secs_f64() * cores)
        );
    }
    let _ = writeln!(
        out,
        "| **total** (of {:.0} core-s) | {total:.1} | {:.0} % |",
        wall.as_secs_f64() * cores,
        100.0 * total / (wall.as_secs_f64() * cores)
    );
    out
}

/// `top` while the load runs (the second frame: the first averages since start-up).
async fn top_snapshot() -> String {
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

// ----------------------------------------------------------------------------------
// Throughput

#[derive(Debug, Clone)]
struct PgbenchResult {
    tps: f64,
    transactions: u64,
    latency_ms: f64,
    failed: u64,
    cpu: Vec<(String, f64)>,
    cpu_wall: Duration,
    /// What PostgreSQL did meanwhile.
    pg: String,
    top: String,
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
/// (order-service's repository::menu, repository::insert, platform::outbox::append).
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
        "-- order-service's POST /v1/orders, statement for statement (benches/orders.rs)
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

async fn run_pgbench(
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
    let pg_before = pg_sample(stack).await;
    let before = cpu_sample(stack);
    let started = Instant::now();
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
    let wall = started.elapsed();
    let after = cpu_sample(stack);
    let pg = pg_used(stack, &pg_before, &pg_sample(stack).await, wall).await;
    eprintln!("PostgreSQL: {pg}");
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
    let cpu = cpu_used(&before, &after);
    eprintln!("{}", cpu_table(&cpu, wall));
    PgbenchResult {
        tps: find("tps ="),
        transactions: find("number of transactions actually processed:") as u64,
        latency_ms: find("latency average ="),
        failed: stdout
            .lines()
            .find_map(|l| l.strip_prefix("number of failed transactions:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0),
        cpu,
        cpu_wall: wall,
        pg,
        top,
    }
}

/// Waits until order_service's relay has confirmed everything written so far, so the
/// next run does not share the machine with the previous run's backlog.
async fn wait_relay_caught_up(stack: &Stack) {
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

#[derive(Debug, Clone)]
struct WrkResult {
    rate: f64,
    requests: u64,
    non_2xx: u64,
    socket_errors: String,
    latency: Vec<(String, String)>,
    cpu: Vec<(String, f64)>,
    cpu_wall: Duration,
    /// What PostgreSQL did meanwhile.
    pg: String,
    top: String,
}

async fn run_wrk(stack: &mut Stack, clients: u32, url: &str, body: &str) -> WrkResult {
    let script = stack.dir().join("orders.wrk.lua");
    std::fs::write(
        &script,
        format!(
            "-- POST /v1/orders, the same order every time (benches/orders.rs)\n\
             wrk.method = \"POST\"\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n\
             wrk.body = [[{body}]]\n"
        ),
    )
    .expect("wrk script");
    let args = [
        "-t2".to_owned(),
        format!("-c{clients}"),
        format!("-d{}s", THROUGHPUT.as_secs()),
        "--latency".to_owned(),
        "-s".to_owned(),
        script.display().to_string(),
        url.to_owned(),
    ];
    step(&format!("wrk {}", args.join(" ")));
    let pg_before = pg_sample(stack).await;
    let before = cpu_sample(stack);
    let started = Instant::now();
    let child = tokio::process::Command::new("wrk")
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wrk");
    tokio::time::sleep(THROUGHPUT / 2).await;
    let top = top_snapshot().await;
    let output = child.wait_with_output().await.expect("wrk");
    settle().await;
    let wall = started.elapsed();
    let after = cpu_sample(stack);
    let pg = pg_used(stack, &pg_before, &pg_sample(stack).await, wall).await;
    eprintln!("PostgreSQL: {pg}");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {stdout}");
    eprintln!("{stdout}");
    let cpu = cpu_used(&before, &after);
    eprintln!("{}", cpu_table(&cpu, wall));
    let value_after = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let mut latency = Vec::new();
    let mut in_distribution = false;
    for line in stdout.lines() {
        if line.trim() == "Latency Distribution" {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                [p, v] if p.ends_with('%') => latency.push((p.to_owned(), v.to_owned())),
                _ => in_distribution = false,
            }
        }
    }
    WrkResult {
        rate: value_after("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .expect("wrk's Requests/sec"),
        requests: stdout
            .lines()
            .find(|l| l.contains(" requests in "))
            .and_then(|l| l.split_whitespace().next()?.parse().ok())
            .unwrap_or(0),
        non_2xx: value_after("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        socket_errors: value_after("Socket errors:").unwrap_or_else(|| "none".into()),
        latency,
        cpu,
        cpu_wall: wall,
        pg,
        top,
    }
}

#[derive(Debug, Clone)]
struct Drain {
    pending_after_wrk: i64,
    drained_in: Duration,
    validated_per_s: f64,
    still_pending: i64,
}

/// Waits until the orders placed by wrk have left PENDING: the validation pipeline's
/// backlog. Its rate is the pipeline's capacity with no HTTP load.
async fn drain_backlog(stack: &Stack, consumer: Uuid) -> Drain {
    let db = stack.database("order_service").connect().await.expect("db");
    let pending = async || -> i64 {
        db.query_one(
            "SELECT count(*) FROM orders WHERE consumer_id = $1 AND state = 'PENDING'",
            &[&consumer],
        )
        .await
        .expect("count")
        .get(0)
    };
    let started = Instant::now();
    let first = pending().await;
    step(&format!(
        "{first} orders still PENDING after wrk; waiting (at most {DRAIN_LIMIT:?})"
    ));
    let mut left = first;
    while left > 0 && started.elapsed() < DRAIN_LIMIT {
        tokio::time::sleep(Duration::from_millis(250)).await;
        left = pending().await;
    }
    let drained_in = started.elapsed();
    Drain {
        pending_after_wrk: first,
        drained_in,
        validated_per_s: (first - left) as f64 / drained_in.as_secs_f64().max(0.001),
        still_pending: left,
    }
}

// ----------------------------------------------------------------------------------
// Latency at a steady rate

#[derive(Debug, Clone)]
struct Placed {
    id: String,
    sent_ms: i64,
    answered_ms: i64,
    http: Duration,
}

#[derive(Debug, Clone)]
struct Paced {
    placed: Vec<Placed>,
    failed: usize,
    issued_in: Duration,
    late: usize,
    /// Per service: messages its consumer loops handled in the run, mean ms each.
    handled: Vec<(String, f64, f64)>,
    cpu: Vec<(String, f64)>,
    cpu_wall: Duration,
    /// What PostgreSQL did meanwhile.
    pg: String,
    top: String,
}

/// Per service: (messages handled so far, seconds spent handling them), from
/// `ftgo_consumer_handle_seconds` (summed over its subscriptions).
async fn handling(stack: &mut Stack) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for binary in SERVICE_BINARIES {
        let service = stack.service(binary, 0);
        let count = service
            .metric("ftgo_consumer_handle_seconds_count")
            .await
            .unwrap_or(0.0);
        let sum = service
            .metric("ftgo_consumer_handle_seconds_sum")
            .await
            .unwrap_or(0.0);
        out.push((binary.to_owned(), count, sum));
    }
    out
}

async fn run_paced(stack: &mut Stack, client: &Client, fixtures: Fixtures) -> Paced {
    let total = PACED_RATE as usize * PACED.as_secs() as usize;
    step(&format!(
        "paced: {PACED_RATE} orders/s for {PACED:?} ({total} orders, up to {PACED_IN_FLIGHT} in flight)"
    ));
    let handled_before = handling(stack).await;
    let pg_before = pg_sample(stack).await;
    let before = cpu_sample(stack);
    let start = Instant::now();
    let top = tokio::spawn(async {
        tokio::time::sleep(PACED / 2).await;
        top_snapshot().await
    });
    let pacing = Pacing {
        rate: f64::from(PACED_RATE),
        until: Until::Count(total),
        in_flight: PACED_IN_FLIGHT,
    };
    let (pacing, placements) = place(client, fixtures, pacing).await;
    let (placed, failed) = accepted(placements);
    let wall = start.elapsed();
    let after = cpu_sample(stack);
    let pg = pg_used(stack, &pg_before, &pg_sample(stack).await, wall).await;
    let cpu = cpu_used(&before, &after);
    let handled = handling(stack)
        .await
        .into_iter()
        .zip(handled_before)
        .map(|((name, count, sum), (_, count0, sum0))| {
            let n = count - count0;
            (name, n, 1e3 * (sum - sum0) / n.max(1.0))
        })
        .collect();
    eprintln!("{}", cpu_table(&cpu, wall));
    Paced {
        placed,
        failed,
        issued_in: pacing.sent_in,
        late: pacing.late,
        cpu,
        cpu_wall: wall,
        pg,
        handled,
        top: top.await.unwrap_or_default(),
    }
}

#[derive(Debug, Clone, Default)]
struct Latency {
    /// Commit of OrderCreated to commit of OrderValidated, ms, per validated order.
    validated_ms: Vec<i64>,
    /// The same, for the first and the last third of the orders (by placement).
    first_third_ms: Vec<i64>,
    last_third_ms: Vec<i64>,
    /// Hops: OrderCreated commit -> consumer-service's reply commit, -> restaurant-
    /// service's reply commit; the later reply's commit -> OrderValidated commit.
    consumer_reply_ms: Vec<i64>,
    restaurant_reply_ms: Vec<i64>,
    last_reply_to_validated_ms: Vec<i64>,
    rejected: usize,
    unfinished: usize,
    /// OrderCreated's timestamp lies within its POST's send..answer window.
    stamps_in_window: usize,
    /// The same interval from the orders table (updated_at - created_at), ms.
    db_ms: Vec<f64>,
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v
}

/// Commit-to-commit latencies of `placed` orders (in placement order), from the record
/// timestamps on `order.events` and `order-service.replies`.
async fn validation_latency(stack: &Stack, placed: &[Placed]) -> Latency {
    let ids: HashSet<String> = placed.iter().map(|p| p.id.clone()).collect();
    step(&format!(
        "reading order.events and order-service.replies for {} orders (at most {SETTLE_LIMIT:?})",
        ids.len()
    ));
    let bootstrap = stack.broker.bootstrap_servers();
    let wanted = ids.clone();
    let records = tokio::task::spawn_blocking(move || {
        let mut reader = TopicReader::new(&bootstrap, &["order.events", "order-service.replies"])
            .expect("reader");
        reader
            .read_until(SETTLE_LIMIT, |all| {
                let finished: HashSet<&str> = all
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.header("message-type"),
                            Some("OrderValidated" | "OrderRejected")
                        )
                    })
                    .filter_map(|r| r.key.as_deref())
                    .filter(|k| wanted.contains(*k))
                    .collect();
                finished.len() == wanted.len()
            })
            .to_vec()
    })
    .await
    .expect("reader task");
    // message type -> order id -> record timestamp
    let mut stamps: HashMap<&str, HashMap<&str, i64>> = HashMap::new();
    for r in &records {
        let (Some(key), Some(ts), Some(kind)) =
            (r.key.as_deref(), r.timestamp, r.header("message-type"))
        else {
            continue;
        };
        if ids.contains(key) {
            stamps.entry(kind).or_default().insert(key, ts);
        }
    }
    let empty = HashMap::new();
    let of = |kind: &str| stamps.get(kind).unwrap_or(&empty);
    let (created, validated) = (of("OrderCreated"), of("OrderValidated"));
    let (consumer, restaurant) = (of("ConsumerValidated"), of("OrderDetailsValidated"));
    let since_created = |id: &str, at: Option<&i64>| Some(at? - created.get(id)?);
    let per_order: Vec<Option<i64>> = placed
        .iter()
        .map(|p| since_created(&p.id, validated.get(p.id.as_str())))
        .collect();
    let third = placed.len() / 3;
    let hops = |m: &HashMap<&str, i64>| {
        sorted(
            placed
                .iter()
                .filter_map(|p| since_created(&p.id, m.get(p.id.as_str())))
                .collect(),
        )
    };
    let last_reply_to_validated_ms = sorted(
        placed
            .iter()
            .filter_map(|p| {
                let id = p.id.as_str();
                Some(validated.get(id)? - consumer.get(id)?.max(restaurant.get(id)?))
            })
            .collect(),
    );
    let stamps_in_window = placed
        .iter()
        .filter(|p| {
            created
                .get(p.id.as_str())
                .is_some_and(|ts| (p.sent_ms..=p.answered_ms).contains(ts))
        })
        .count();

    let db = stack.database("order_service").connect().await.expect("db");
    let uuids: Vec<Uuid> = placed.iter().filter_map(|p| p.id.parse().ok()).collect();
    let mut db_ms: Vec<f64> = db
        .query(
            "SELECT (extract(epoch FROM updated_at - created_at) * 1000)::float8
             FROM orders WHERE id = ANY($1) AND state = 'VALIDATED'",
            &[&uuids],
        )
        .await
        .expect("orders")
        .iter()
        .map(|r| r.get(0))
        .collect();
    db_ms.sort_by(f64::total_cmp);
    let rejected = of("OrderRejected").len();
    Latency {
        unfinished: ids.len() - validated.len() - rejected,
        validated_ms: sorted(per_order.iter().flatten().copied().collect()),
        first_third_ms: sorted(per_order[..third].iter().flatten().copied().collect()),
        last_third_ms: sorted(
            per_order[placed.len() - third..]
                .iter()
                .flatten()
                .copied()
                .collect(),
        ),
        consumer_reply_ms: hops(consumer),
        restaurant_reply_ms: hops(restaurant),
        last_reply_to_validated_ms,
        rejected,
        stamps_in_window,
        db_ms,
    }
}

// ----------------------------------------------------------------------------------
// Memory

fn rss_of_services(stack: &mut Stack) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = SERVICE_BINARIES
        .iter()
        .map(|b| {
            (
                (*b).to_owned(),
                rss_kib(stack.service(b, 0).pid()).unwrap_or(0),
            )
        })
        .collect();
    for service in SERVICES {
        let pid = stack.relay(service).pid();
        out.push((format!("cdc-relay ({service})"), rss_kib(pid).unwrap_or(0)));
    }
    out
}

// ----------------------------------------------------------------------------------
// Report

/// `p50 …, p95 …, p99 …, max …` of sorted milliseconds.
fn spread(sorted: &[i64]) -> String {
    let ms = |v: Option<i64>| v.map_or("-".into(), |v| format!("{v} ms"));
    format!(
        "p50 {}, p95 {}, p99 {}, max {}",
        ms(percentile(sorted, 50.0)),
        ms(percentile(sorted, 95.0)),
        ms(percentile(sorted, 99.0)),
        ms(sorted.last().copied())
    )
}

#[derive(Debug)]
struct Report {
    clients: u32,
    quiet: bool,
    extra_env: String,
    idle_latency: Latency,
    start_up: Duration,
    pgbench: PgbenchResult,
    wrk: WrkResult,
    ratio: f64,
    drain: Drain,
    paced: Paced,
    latency: Latency,
    rss_started: Vec<(String, u64)>,
    rss_idle: Vec<(String, u64)>,
    rss_loaded: Vec<(String, u64)>,
}

impl Report {
    fn markdown(&self) -> String {
        let mut o = String::new();
        let (pg, wrk, lat, paced) = (&self.pgbench, &self.wrk, &self.latency, &self.paced);
        let _ = writeln!(o, "```text");
        let _ = writeln!(o, "date:    {}", command_line("date", &["-u"]));
        let _ = writeln!(o, "machine: {}", machine());
        let _ = writeln!(
            o,
            "         {}; {}; {}",
            command_line(
                &ftgo_harness::prereqs::postgres_bin_dir()
                    .map(|d| d.join("postgres"))
                    .unwrap_or_else(|_| PathBuf::from("postgres"))
                    .display()
                    .to_string(),
                &["--version"]
            ),
            command_line("wrk", &["--version"])
                .lines()
                .next()
                .unwrap_or_default()
                .split(" Copyright")
                .next()
                .unwrap_or_default(),
            ftgo_harness::prereqs::kafka_description(),
        );
        let _ = writeln!(
            o,
            "setup:   fsync=on; all of PostgreSQL, Kafka, 3 cdc-relays, 3 services and the load \
             generator share the {} cores; system up in {:.1?}",
            command_line("nproc", &[]),
            self.start_up
        );
        let _ = writeln!(
            o,
            "         machine quiet (< 15 % busy for 10 s) before the start: {}",
            if self.quiet {
                "yes"
            } else {
                "NO: figures skewed by other work"
            }
        );
        if !self.extra_env.is_empty() {
            let _ = writeln!(o, "EXPERIMENT, extra settings: {}", self.extra_env);
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "throughput, {} clients, {} s each (same SQL transaction):",
            self.clients,
            THROUGHPUT.as_secs()
        );
        let _ = writeln!(
            o,
            "  pgbench -M extended -c {} -j 2:  {:.0} tx/s  ({} transactions, latency avg {:.2} ms, {} failed)",
            self.clients, pg.tps, pg.transactions, pg.latency_ms, pg.failed
        );
        let _ = writeln!(
            o,
            "  wrk -t2 -c{} POST /v1/orders:    {:.0} orders/s  ({} requests, non-2xx {}, socket errors {})",
            self.clients, wrk.rate, wrk.requests, wrk.non_2xx, wrk.socket_errors
        );
        let _ = writeln!(
            o,
            "  wrk latency: {}",
            wrk.latency
                .iter()
                .map(|(p, v)| format!("p{} {v}", p.trim_end_matches('%')))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            o,
            "  orders/pgbench ratio: {:.2}  (target >= 0.80)",
            self.ratio
        );
        let _ = writeln!(
            o,
            "  backlog after wrk: {} orders PENDING, drained in {:.1?} ({:.0} validated/s, {} left)",
            self.drain.pending_after_wrk,
            self.drain.drained_in,
            self.drain.validated_per_s,
            self.drain.still_pending
        );
        let _ = writeln!(o);
        let placed = paced.placed.len();
        let achieved = placed as f64 / paced.issued_in.as_secs_f64();
        let idle = &self.idle_latency;
        let _ = writeln!(
            o,
            "latency on the idle system, {} orders one at a time (500 ms apart):",
            idle.validated_ms.len() + idle.rejected + idle.unfinished
        );
        let _ = writeln!(
            o,
            "  created -> validated {}\n    hops: -> ConsumerValidated {}; -> OrderDetailsValidated {}; \
             later reply -> OrderValidated {}",
            spread(&idle.validated_ms),
            spread(&idle.consumer_reply_ms),
            spread(&idle.restaurant_reply_ms),
            spread(&idle.last_reply_to_validated_ms)
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "latency at {PACED_RATE} orders/s for {} s ({} in flight at most):",
            PACED.as_secs(),
            PACED_IN_FLIGHT
        );
        let _ = writeln!(
            o,
            "  placed {placed} (201), failed {}, achieved {achieved:.1} orders/s, sent late (>20 ms) {}",
            paced.failed, paced.late
        );
        let v = &lat.validated_ms;
        let _ = writeln!(
            o,
            "  OrderCreated commit -> OrderValidated commit (Kafka record timestamps): {}  \
             (target p99 <= 150 ms)",
            spread(v)
        );
        let _ = writeln!(
            o,
            "    first third of the orders: {}; last third: {}",
            spread(&lat.first_third_ms),
            spread(&lat.last_third_ms)
        );
        let _ = writeln!(
            o,
            "    hops: -> ConsumerValidated commit {}; -> OrderDetailsValidated commit {}; \
             later reply -> OrderValidated commit {}",
            spread(&lat.consumer_reply_ms),
            spread(&lat.restaurant_reply_ms),
            spread(&lat.last_reply_to_validated_ms)
        );
        let _ = writeln!(
            o,
            "  VALIDATED {}/{placed} = {:.2} %, REJECTED {}, not finished within {} s {}",
            v.len(),
            100.0 * v.len() as f64 / placed.max(1) as f64,
            lat.rejected,
            SETTLE_LIMIT.as_secs(),
            lat.unfinished
        );
        let dbp = |p: f64| percentile(&lat.db_ms, p).map_or("-".into(), |v| format!("{v:.0} ms"));
        let _ = writeln!(
            o,
            "  cross-check, orders.updated_at - created_at: p50 {}, p95 {}, p99 {}, max {}",
            dbp(50.0),
            dbp(95.0),
            dbp(99.0),
            dbp(100.0)
        );
        let _ = writeln!(
            o,
            "  OrderCreated timestamp inside its POST's send..answer window: {}/{placed}",
            lat.stamps_in_window
        );
        let _ = writeln!(
            o,
            "  messages handled by each service's consumer loops (one at a time, each in its own \
             transaction): {}",
            paced
                .handled
                .iter()
                .map(|(name, n, ms)| format!("{name} {n:.0} × {ms:.2} ms"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut http: Vec<Duration> = paced.placed.iter().map(|p| p.http).collect();
        http.sort_unstable();
        let d = |p: f64| {
            percentile(&http, p).map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
        };
        let _ = writeln!(
            o,
            "  POST /v1/orders response time: p50 {}, p99 {}, max {}",
            d(50.0),
            d(99.0),
            d(100.0)
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "resident memory (VmRSS, MiB): started / idle after setup / after the load"
        );
        for (((name, a), (_, b)), (_, c)) in self
            .rss_started
            .iter()
            .zip(&self.rss_idle)
            .zip(&self.rss_loaded)
        {
            let mib = |k: &u64| *k as f64 / 1024.0;
            let _ = writeln!(
                o,
                "  {name:<32} {:>6.1} / {:>6.1} / {:>6.1}",
                mib(a),
                mib(b),
                mib(c)
            );
        }
        let _ = writeln!(o, "```");
        for (title, cpu, wall, pg) in [
            ("pgbench", &pg.cpu, pg.cpu_wall, &pg.pg),
            ("wrk", &wrk.cpu, wrk.cpu_wall, &wrk.pg),
            ("paced", &paced.cpu, paced.cpu_wall, &paced.pg),
        ] {
            let _ = writeln!(o, "\nCPU used during the {title} run ({pg}):\n");
            let _ = write!(o, "{}", cpu_table(cpu, wall));
        }
        for (title, top) in [
            ("pgbench", &pg.top),
            ("wrk", &wrk.top),
            ("paced", &paced.top),
        ] {
            let _ = writeln!(
                o,
                "\n`top -b` during the {title} run:\n\n```text\n{top}\n```"
            );
        }
        o
    }
}
