//! Throughput through the services: wrk POSTing orders at pgbench's client count and
//! duration, then how long the validation pipeline takes to drain what it left.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ftgo_harness::Stack;
use uuid::Uuid;

use crate::system::{Observed, RunMeter, settle, top_snapshot};
use crate::{DRAIN_LIMIT, THROUGHPUT, step};

/// wrk's run of `POST /v1/orders`.
#[derive(Debug, Clone)]
pub(crate) struct WrkResult {
    pub(crate) rate: f64,
    pub(crate) requests: u64,
    pub(crate) non_2xx: u64,
    pub(crate) socket_errors: String,
    /// Its latency distribution: (percentile, value) as wrk prints them.
    pub(crate) latency: Vec<(String, String)>,
    pub(crate) observed: Observed,
}

/// wrk with `clients` connections for `THROUGHPUT`, POSTing `body` to `url`.
pub(crate) async fn run_wrk(stack: &mut Stack, clients: u32, url: &str, body: &str) -> WrkResult {
    let script = stack.dir().join("orders.wrk.lua");
    std::fs::write(
        &script,
        format!(
            "-- POST /v1/orders, the same order every time (benches/orders/wrk.rs)\n\
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
    let meter = RunMeter::start(stack).await;
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
    let observed = meter.finish(stack, top).await;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "wrk failed: {stdout}");
    eprintln!("{stdout}");
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
        observed,
    }
}

/// The validation pipeline's backlog after wrk.
#[derive(Debug, Clone)]
pub(crate) struct Drain {
    pub(crate) pending_after_wrk: i64,
    pub(crate) drained_in: Duration,
    pub(crate) validated_per_s: f64,
    pub(crate) still_pending: i64,
}

/// Waits until the orders placed by wrk have left PENDING: the validation pipeline's
/// backlog. Its rate is the pipeline's capacity with no HTTP load.
pub(crate) async fn drain_backlog(stack: &Stack, consumer: Uuid) -> Drain {
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
