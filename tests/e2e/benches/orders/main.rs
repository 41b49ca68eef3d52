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
//!    and duration; prints `orders/pgbench ratio: R` (and, after the latency phase,
//!    `created->VALIDATED p99 ms at 200/s: N`);
//! 2. latency: a paced client (the harness's load engine, `ftgo_harness::load`, which
//!    also made the fixtures and the first order) places orders at a steady rate; for
//!    each, OrderValidated's record timestamp minus OrderCreated's on `order.events` (the
//!    relay stamps records with the source transaction's commit time): commit to
//!    validated-commit;
//! 3. resident memory of each service, idle and after the load;
//!
//! and prints every figure as a markdown block ([`report`]). Bounded: it stops by itself
//! in a few minutes. Everything shares the machine's cores; the CPU each part used is
//! printed per phase ([`system`], measured with the harness's `measure` as in the other
//! benchmarks). `FTGO_BENCH_CLIENTS` overrides the client count (default 16). The phases'
//! modules: [`setup`], [`pgbench`] and [`wrk`] (throughput), [`latency`].

#![allow(
    clippy::print_stdout,
    reason = "a benchmark's report is its standard output"
)]

use std::path::Path;
use std::time::{Duration, Instant};

use ftgo_harness::load::{Client, Fixtures, Kind, Pacing, Target, Until};
use ftgo_harness::measure::{percentile, rss_kib, wait_quiet};
use ftgo_harness::{SERVICE_BINARIES, SERVICES, Stack, StackOptions};
use uuid::Uuid;

use crate::latency::{run_paced, validation_latency};
use crate::pgbench::{run_pgbench, wait_relay_caught_up};
use crate::report::Report;
use crate::setup::{accepted, ensure_wrk, first_order, message_templates, place};
use crate::wrk::{drain_backlog, run_wrk};

mod latency;
mod pgbench;
mod report;
mod setup;
mod system;
mod wrk;

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
    let validated_p99 = percentile(&report.latency.validated_ms, 99.0).unwrap_or(-1);
    println!("{}", report.markdown());
    println!("orders/pgbench ratio: {ratio:.2}");
    println!("created->VALIDATED p99 ms at {PACED_RATE}/s: {validated_p99}");
}

/// Resident memory of each service and relay now, KiB.
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
