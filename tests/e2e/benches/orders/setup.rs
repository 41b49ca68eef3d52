//! Set-up: wrk, the first order (followed to VALIDATED), the messages pgbench copies,
//! and placing orders through the harness's load engine.

use std::process::Command;
use std::time::Duration;

use ftgo_harness::Stack;
use ftgo_harness::kafka::{ReceivedRecord, TopicReader};
use ftgo_harness::load::{
    self, Client, Fixtures, Mix, Pacer, Pacing, Placement, Plan, Target, Until,
};

use ftgo_harness::pgbench::OutboxRow;

use crate::latency::Placed;
use crate::step;

/// Installs wrk from Debian when it is missing.
pub(crate) fn ensure_wrk() {
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
pub(crate) async fn first_order(client: &Client, fixtures: Fixtures, target: &Target) -> String {
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
pub(crate) async fn place(
    client: &Client,
    fixtures: Fixtures,
    pacing: Pacing,
) -> (load::Paced, Vec<Placement>) {
    Pacer::start(client.clone(), fixtures, Mix::valid_only(), pacing)
        .finish()
        .await
}

/// The accepted orders as the latency analysis reads them, and how many were not.
pub(crate) fn accepted(placements: Vec<Placement>) -> (Vec<Placed>, usize) {
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

/// The first order's three messages, read back from the broker as the outbox held them
/// (the headers the relay adds taken off): pgbench appends copies of exactly these (same
/// sizes, same headers; fresh ids).
pub(crate) async fn message_templates(stack: &Stack, order_id: &str) -> Vec<OutboxRow> {
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
        let mut templates: Vec<OutboxRow> = topics
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
                OutboxRow {
                    destination: r.topic.clone(),
                    key: r.key.clone().expect("key"),
                    message_type,
                    schema_version,
                    headers,
                    payload: r.payload.clone(),
                }
            })
            .collect();
        templates.sort_by_key(|t| topics.iter().position(|x| *x == t.destination));
        templates
    })
    .await
    .expect("reader task")
}
