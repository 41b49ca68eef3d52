//! What a failing dependency costs the caller once the breaker is open.
//!
//! Run with `cargo bench -p ftgo-client --bench breaker` (release build; well under a
//! minute). *Microservices Patterns* ch. 3: a failing service must not make its callers
//! wait. This starts a real HTTP target on loopback and a [`ResilientClient`] with the
//! default settings, then, for a target answering 503 and for one that does not answer
//! within the timeout:
//!
//! 1. calls it while the breaker is closed, timing each call (they reach the network),
//!    until the breaker opens;
//! 2. times 100,000 calls with the breaker open, one at a time, then 8 tasks at once;
//!    every one must be rejected (`CallError::BreakerOpen`) and the target must see none;
//! 3. reads `ftgo_client_breaker_state` from the registry (1 = open).
//!
//! The target (issue 18): an open breaker rejects a call in ≤ 1 ms p99. The report ends
//! with the line `open breaker rejection p99 ms: N` for docs/benchmarks.md.

#![allow(
    clippy::print_stdout,
    reason = "the report goes to stdout, to be pasted into docs/benchmarks.md"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use ftgo_harness::measure::{MachineTicks, clock_ticks, machine, percentile, run_benchmark, ticks};
use resilient_client::{BreakerState, CallError, ResilienceSettings, ResilientClient};
use runtime::config::HttpSettings;
use runtime::http::HttpServer;

/// Rejected calls timed one after another.
const SEQUENTIAL: usize = 100_000;
/// Tasks calling at once, and calls each.
const TASKS: usize = 8;
const PER_TASK: usize = 25_000;
/// The slow target answers after this; the client gives up at `TIMEOUT_MS`.
const SLOW_MS: u64 = 2_000;
const TIMEOUT_MS: u64 = 200;

#[derive(Clone, Copy, Debug)]
enum Failure {
    Unavailable,
    Slow,
}

impl Failure {
    fn path(self) -> &'static str {
        match self {
            Self::Unavailable => "/unavailable",
            Self::Slow => "/slow",
        }
    }

    fn target(self) -> &'static str {
        match self {
            Self::Unavailable => "failing-target",
            Self::Slow => "slow-target",
        }
    }
}

fn main() {
    run_benchmark("ftgo-client", "breaker", async {
        let hits = Arc::new(AtomicUsize::new(0));
        let router = Router::new()
            .route("/unavailable", get(unavailable))
            .route("/slow", get(slow))
            .with_state(Arc::clone(&hits));
        let server = HttpServer::bind(&HttpSettings::default(), router)
            .await
            .expect("bind the target");
        let base_url = format!("http://{}", server.local_addr().expect("its address"));
        tokio::spawn(server.run_until(std::future::pending()));

        let mut report = String::new();
        report.push_str(&format!(
            "command:  cargo bench -p ftgo-client --bench breaker\nmachine:  {}\n\
             client:   default resilience settings (window 20, minimum 5 calls, threshold 0.5, \
             open 5 s), timeout {TIMEOUT_MS} ms for the slow target; one real HTTP target on loopback\n\n",
            machine()
        ));
        let mut worst_p99 = Duration::ZERO;
        for failure in [Failure::Unavailable, Failure::Slow] {
            let (text, p99) = measure(failure, &base_url, &hits).await;
            report.push_str(&text);
            worst_p99 = worst_p99.max(p99);
        }
        let p99_ms = worst_p99.as_secs_f64() * 1e3;
        report.push_str(&format!(
            "\nopen breaker rejection p99 ms: {p99_ms:.4} (target <= 1 ms: {})\n",
            if p99_ms <= 1.0 { "met" } else { "MISSED" }
        ));
        print!("{report}");
    });
}

async fn unavailable(State(hits): State<Arc<AtomicUsize>>) -> StatusCode {
    hits.fetch_add(1, Ordering::Relaxed);
    StatusCode::SERVICE_UNAVAILABLE
}

async fn slow(State(hits): State<Arc<AtomicUsize>>) -> StatusCode {
    hits.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(SLOW_MS)).await;
    StatusCode::OK
}

/// One failure kind: the closed phase, the open phase (sequential and concurrent) and the
/// state metric; the text block and the worst p99 of the open phase.
async fn measure(failure: Failure, base_url: &str, hits: &AtomicUsize) -> (String, Duration) {
    let registry = runtime::metrics::registry().expect("a registry");
    let settings = ResilienceSettings {
        timeout_ms: TIMEOUT_MS,
        ..ResilienceSettings::default()
    };
    let client =
        ResilientClient::new(failure.target(), base_url, &settings, &registry).expect("a client");
    eprintln!(
        "[bench breaker] {}: calling until the breaker opens",
        failure.target()
    );
    let mut closed = Vec::new();
    while client.breaker_state() != BreakerState::Open {
        let started = Instant::now();
        let outcome = client.get_json::<serde_json::Value>(failure.path()).await;
        closed.push(started.elapsed());
        assert!(outcome.is_err(), "the target fails: {outcome:?}");
        assert!(closed.len() <= 100, "the breaker never opened");
    }
    let hits_before = hits.load(Ordering::Relaxed);
    let (machine_before, own_before) = (MachineTicks::now(), ticks("self").0);
    let open_started = Instant::now();

    eprintln!(
        "[bench breaker] {}: {SEQUENTIAL} calls with the breaker open",
        failure.target()
    );
    let mut sequential = Vec::with_capacity(SEQUENTIAL);
    for _ in 0..SEQUENTIAL {
        let started = Instant::now();
        let outcome = client.get_json::<serde_json::Value>(failure.path()).await;
        sequential.push(started.elapsed());
        assert_eq!(outcome.err(), Some(CallError::BreakerOpen));
    }
    eprintln!(
        "[bench breaker] {}: {TASKS} tasks x {PER_TASK} calls at once",
        failure.target()
    );
    let concurrent_started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(PER_TASK);
                for _ in 0..PER_TASK {
                    let started = Instant::now();
                    let outcome = client.get_json::<serde_json::Value>(failure.path()).await;
                    times.push(started.elapsed());
                    assert_eq!(outcome.err(), Some(CallError::BreakerOpen));
                }
                times
            })
        })
        .collect();
    let mut concurrent = Vec::with_capacity(TASKS * PER_TASK);
    for task in tasks {
        concurrent.extend(task.await.expect("a task"));
    }
    let concurrent_wall = concurrent_started.elapsed();
    let disturbance = Disturbance::since(machine_before, own_before, open_started.elapsed());
    let reached = hits.load(Ordering::Relaxed) - hits_before;
    let state = runtime::metrics::render(&registry)
        .lines()
        .find(|l| l.starts_with("ftgo_client_breaker_state{"))
        .unwrap_or("ftgo_client_breaker_state: not found")
        .to_owned();

    let seq = summary(&mut sequential);
    let conc = summary(&mut concurrent);
    let p99 = seq.p99.max(conc.p99);
    let text = format!(
        "{} ({}):\n  \
         closed, calls reaching the target until the breaker opened: {} calls, {}\n  \
         open, one at a time:  {SEQUENTIAL} calls, {}\n  \
         open, {TASKS} tasks at once: {} calls in {:.3} s ({:.0} calls/s), {}\n  \
         calls that reached the target while open: {reached}\n  \
         metric: {state}\n  \
         CPU while open: {disturbance}\n",
        failure.target(),
        match failure {
            Failure::Unavailable => "answers 503",
            Failure::Slow => "answers after 2 s; the client times out",
        },
        closed.len(),
        summary(&mut closed),
        seq,
        TASKS * PER_TASK,
        concurrent_wall.as_secs_f64(),
        (TASKS * PER_TASK) as f64 / concurrent_wall.as_secs_f64(),
        conc,
    );
    (text, p99)
}

/// CPU over a phase: this process's and everything else's on the machine ("other": a
/// large figure means the phase was disturbed and its tail says more about the machine
/// than about the breaker).
#[derive(Debug)]
struct Disturbance {
    own_s: f64,
    other_s: f64,
    wall_s: f64,
}

impl Disturbance {
    fn since(machine: MachineTicks, own: u64, wall: Duration) -> Self {
        let now = MachineTicks::now();
        let busy = now.busy.saturating_sub(machine.busy) as f64 / clock_ticks();
        let own = ticks("self").0.saturating_sub(own) as f64 / clock_ticks();
        Self {
            own_s: own,
            other_s: (busy - own).max(0.0),
            wall_s: wall.as_secs_f64(),
        }
    }
}

impl std::fmt::Display for Disturbance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bench {:.2} s, other {:.2} s over {:.2} s",
            self.own_s, self.other_s, self.wall_s
        )
    }
}

/// p50, p99, p99.9 and max of a set of durations.
#[derive(Debug)]
struct Summary {
    p50: Duration,
    p99: Duration,
    p999: Duration,
    max: Duration,
}

fn summary(times: &mut [Duration]) -> Summary {
    times.sort_unstable();
    let at = |p| percentile(times, p).unwrap_or_default();
    Summary {
        p50: at(50.0),
        p99: at(99.0),
        p999: at(99.9),
        max: times.last().copied().unwrap_or_default(),
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        write!(
            f,
            "p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.1} µs",
            us(self.p50),
            us(self.p99),
            us(self.p999),
            us(self.max)
        )
    }
}
