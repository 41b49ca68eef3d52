//! order-service's synchronous lookup of a consumer, REST against gRPC, through the
//! resilient client (docs/benchmarks.md, "Sync transports").
//!
//! ```sh
//! cargo build --release --workspace --bins && cargo bench -p ftgo-e2e --bench lookup
//! ```
//!
//! Starts the system (release binaries) and registers consumers, then looks them up
//! from this process with the platform's `ResilientClient` — the code order-service runs
//! for `?expand=consumer` — once over REST (`GET /v1/consumers/{id}`, JSON) and once over
//! gRPC (`ConsumerService.GetConsumer`, Protobuf), in alternating rounds:
//!
//! - sequential: one call at a time (latency without queueing);
//! - concurrent: `CONCURRENCY` callers at once (one HTTP/2 connection for gRPC, a pool
//!   of HTTP/1.1 connections for REST).
//!
//! For each: calls/s, latency p50/p99, and CPU per call of consumer-service and of this
//! client process (utime+stime from /proc/<pid>/stat, divided by the calls). PostgreSQL's
//! share (the same query for both) is not counted. Prints a markdown block.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark's report is its standard output"
)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use consumer_api::GrpcConsumers;
use ftgo_harness::measure::{clock_ticks, command_line, machine, percentile, ticks};
use ftgo_harness::{Stack, StackOptions};
use resilient_client::{ResilienceSettings, ResilientClient};
use serde_json::{Value, json};

/// Consumers registered and looked up in turn.
const CONSUMERS: usize = 200;
/// Calls per transport before measuring (connections, caches, JIT-free but warm).
const WARM_UP: usize = 1_000;
/// Calls per sequential run, and per concurrent run.
const SEQUENTIAL: usize = 5_000;
const CONCURRENT: usize = 20_000;
/// Callers at once in the concurrent run.
const CONCURRENCY: usize = 16;
/// Rounds, each measuring both transports (REST first in odd rounds, gRPC in even ones).
const ROUNDS: usize = 2;

fn main() {
    ftgo_harness::measure::run_benchmark("ftgo-e2e", "lookup", run());
}

fn step(message: &str) {
    eprintln!("[lookup bench] {message}");
}

/// Both clients, as order-service builds them (one registry: the `transport` label
/// keeps their series apart).
#[derive(Clone)]
struct Clients {
    rest: ResilientClient,
    grpc: ResilientClient<GrpcConsumers>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Transport {
    Rest,
    Grpc,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Rest => "REST (JSON, HTTP/1.1)",
            Transport::Grpc => "gRPC (Protobuf, HTTP/2)",
        }
    }
}

impl Clients {
    /// One lookup; panics unless the consumer is found (a benchmark of errors is no use).
    async fn lookup(&self, transport: Transport, id: &str) {
        let found = match transport {
            Transport::Rest => self
                .rest
                .get_json::<Value>(&format!("/v1/consumers/{id}"))
                .await
                .map(|c| c.is_some()),
            Transport::Grpc => self
                .grpc
                .call(id.to_owned(), None)
                .await
                .map(|c| c.is_some()),
        };
        assert_eq!(found, Ok(true), "{} lookup of {id}", transport.name());
    }
}

/// One measured run.
#[derive(Debug, Default, Clone)]
struct Run {
    calls: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    server_ticks: u64,
    client_ticks: u64,
}

impl Run {
    fn add(&mut self, other: Run) {
        self.calls += other.calls;
        self.wall += other.wall;
        self.latencies.extend(other.latencies);
        self.server_ticks += other.server_ticks;
        self.client_ticks += other.client_ticks;
    }
}

async fn run() {
    ftgo_harness::binaries::path("consumer-service")
        .expect("release binaries: run `cargo build --release --workspace --bins` first");
    step("starting PostgreSQL, Apache Kafka, relays, services");
    let mut stack = Stack::start_with(StackOptions {
        services: true,
        private_broker: true,
        ..StackOptions::default()
    })
    .await
    .expect("the system starts");
    let consumer_service = stack.service("consumer-service", 0);
    let (rest_url, grpc_url) = (consumer_service.url(), consumer_service.grpc_url());
    let server_pid = consumer_service.pid().to_string();

    let http = reqwest::Client::new();
    let mut ids = Vec::with_capacity(CONSUMERS);
    for n in 0..CONSUMERS {
        let response = http
            .post(format!("{rest_url}/v1/consumers"))
            .json(&json!({ "name": format!("consumer {n}") }))
            .send()
            .await
            .expect("register a consumer");
        let body: Value = response.json().await.expect("a JSON answer");
        ids.push(body["id"].as_str().expect("an id").to_owned());
    }
    let ids: Arc<[String]> = ids.into();

    let registry = runtime::metrics::registry().expect("a registry");
    // Generous limits: the benchmark measures the transports, not the protection.
    let settings = ResilienceSettings {
        timeout_ms: 10_000,
        max_in_flight: CONCURRENCY * 2,
        ..ResilienceSettings::default()
    };
    let clients = Clients {
        rest: ResilientClient::new("consumer-service", &rest_url, &settings, &registry)
            .expect("REST client"),
        grpc: ResilientClient::with_transport(
            "consumer-service",
            GrpcConsumers::new("consumer-service", &grpc_url).expect("gRPC transport"),
            &settings,
            &registry,
        )
        .expect("gRPC client"),
    };

    for transport in [Transport::Rest, Transport::Grpc] {
        step(&format!("warming up {}", transport.name()));
        sequential(&clients, transport, &ids, &server_pid, WARM_UP).await;
    }
    let mut results: Vec<((Transport, &str), Run)> = Vec::new();
    let mut record = |key: (Transport, &'static str), run: Run| match results
        .iter_mut()
        .find(|(k, _)| *k == key)
    {
        Some((_, total)) => total.add(run),
        None => results.push((key, run)),
    };
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 {
            [Transport::Rest, Transport::Grpc]
        } else {
            [Transport::Grpc, Transport::Rest]
        };
        for transport in order {
            step(&format!(
                "round {}: {} sequential",
                round + 1,
                transport.name()
            ));
            let run = sequential(&clients, transport, &ids, &server_pid, SEQUENTIAL).await;
            record((transport, "sequential"), run);
            step(&format!(
                "round {}: {} concurrent",
                round + 1,
                transport.name()
            ));
            let run = concurrent(&clients, transport, &ids, &server_pid).await;
            record((transport, "concurrent"), run);
        }
    }
    println!("{}", report(&results));
}

async fn sequential(
    clients: &Clients,
    transport: Transport,
    ids: &[String],
    server_pid: &str,
    calls: usize,
) -> Run {
    let before = (ticks(server_pid).0, ticks("self").0);
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(calls);
    for n in 0..calls {
        let call = Instant::now();
        clients.lookup(transport, &ids[n % ids.len()]).await;
        latencies.push(call.elapsed());
    }
    let wall = started.elapsed();
    Run {
        calls,
        wall,
        latencies,
        server_ticks: ticks(server_pid).0 - before.0,
        client_ticks: ticks("self").0 - before.1,
    }
}

async fn concurrent(
    clients: &Clients,
    transport: Transport,
    ids: &Arc<[String]>,
    server_pid: &str,
) -> Run {
    let before = (ticks(server_pid).0, ticks("self").0);
    let started = Instant::now();
    let per_caller = CONCURRENT / CONCURRENCY;
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..CONCURRENCY {
        let (clients, ids) = (clients.clone(), Arc::clone(ids));
        callers.spawn(async move {
            let mut latencies = Vec::with_capacity(per_caller);
            for n in 0..per_caller {
                let call = Instant::now();
                let id = &ids[(caller * per_caller + n) % ids.len()];
                clients.lookup(transport, id).await;
                latencies.push(call.elapsed());
            }
            latencies
        });
    }
    let mut latencies = Vec::with_capacity(CONCURRENT);
    while let Some(done) = callers.join_next().await {
        latencies.extend(done.expect("a caller finished"));
    }
    let wall = started.elapsed();
    Run {
        calls: latencies.len(),
        wall,
        latencies,
        server_ticks: ticks(server_pid).0 - before.0,
        client_ticks: ticks("self").0 - before.1,
    }
}

fn report(results: &[((Transport, &str), Run)]) -> String {
    let hz = clock_ticks();
    let mut o = String::new();
    let _ = writeln!(o, "```text");
    let _ = writeln!(o, "date:    {}", command_line("date", &["-u"]));
    let _ = writeln!(o, "machine: {}", machine());
    let _ = writeln!(
        o,
        "runs:    {ROUNDS} rounds x (sequential {SEQUENTIAL} calls, concurrent {CONCURRENT} calls \
         by {CONCURRENCY} callers) per transport, after {WARM_UP} warm-up calls; {CONSUMERS} consumers"
    );
    let _ = writeln!(o, "```");
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "| transport | run | calls | calls/s | p50 | p99 | consumer-service CPU/call | client CPU/call |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|");
    for ((transport, mode), run) in results {
        let mut sorted = run.latencies.clone();
        sorted.sort_unstable();
        let ms = |p: f64| {
            percentile(&sorted, p)
                .map_or("-".into(), |d| format!("{:.2} ms", d.as_secs_f64() * 1e3))
        };
        let per_call = |t: u64| format!("{:.0} µs", t as f64 / hz / run.calls as f64 * 1e6);
        let _ = writeln!(
            o,
            "| {} | {mode} | {} | {:.0} | {} | {} | {} | {} |",
            transport.name(),
            run.calls,
            run.calls as f64 / run.wall.as_secs_f64(),
            ms(50.0),
            ms(99.0),
            per_call(run.server_ticks),
            per_call(run.client_ticks),
        );
    }
    o
}
