//! (c) The relay's drain of the backlog, from ready until every row was acknowledged, in
//! log tailing mode (each round) and in polling mode (the backlog written again into
//! another database's outbox, once per round).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use ftgo_harness::measure::{CpuUse, PhaseMeter, Rate, ThreadTicks};
use ftgo_harness::{Stack, http};
use outbox::{self, OutboxMessage, OutboxMode};

use crate::database::{Layout, quiesce, write_backlog};
use crate::{POLLING_SERVICE, ROUNDS, progress, relay_env, stack_cpu};

const RELAY_READY_WITHIN: Duration = Duration::from_secs(60);
const DRAIN_WITHIN: Duration = Duration::from_secs(300);

/// One relay's drain of the backlog.
#[derive(Debug, Default)]
pub(crate) struct RelayDrain {
    pub(crate) rate: Rate,
    /// Start-up: from spawning the process to `/readyz` answering 200.
    pub(crate) ready_seconds: f64,
    /// Already published when readiness was seen (excluded from the rate).
    pub(crate) published_at_ready: f64,
    /// All rows over the time from spawning the process.
    pub(crate) rate_from_spawn: Rate,
    pub(crate) max_rss_kib: u64,
    pub(crate) cpu: CpuUse,
    /// When the first acknowledgement was seen (polled every 20 ms), since ready.
    pub(crate) first_ack_seconds: f64,
    /// The rows published after that poll, over the time after it.
    pub(crate) rate_after_first_ack: Rate,
    /// `ftgo_relay_messages_in_flight` as polled every 20 ms: most and mean.
    pub(crate) in_flight_max: f64,
    pub(crate) in_flight_mean: f64,
    /// The relay's busiest threads during the drain: (name, CPU s).
    pub(crate) threads: Vec<(String, f64)>,
    pub(crate) sessions: f64,
    pub(crate) dead_lettered: f64,
}

/// Starts a relay for `service`'s database (with the `setting`, e.g. its slot; from the
/// executable `binary`, else the workspace's build) and times its drain of the backlog.
/// Unless `keep`, stops it afterwards. Returns its figures, `/metrics` address and pid.
pub(crate) async fn relay_drain(
    stack: &mut Stack,
    service: &str,
    rows: usize,
    setting: Option<(String, String)>,
    binary: Option<&Path>,
    keep: bool,
) -> anyhow::Result<(RelayDrain, SocketAddr, u32)> {
    let (postmaster, broker) = (stack.postgres.pid(), stack.broker.pid());
    let spawned = Instant::now();
    let mut extra = relay_env();
    extra.extend(setting);
    let extra: Vec<(&str, &str)> = extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let relay = match binary {
        Some(binary) => {
            stack
                .start_relay_from(binary.to_owned(), service, &extra)
                .await?
        }
        None => stack.start_relay(service, &extra).await?,
    };
    relay.wait_ready(RELAY_READY_WITHIN).await?;
    let t0 = Instant::now();
    let (address, pid) = (relay.http_address(), relay.pid());
    let cpu = stack_cpu(postmaster, broker.unwrap_or_default())
        .process("relay", pid)
        .start();
    let mut meter = PhaseMeter::new(cpu, pid);
    let threads_before = ThreadTicks::read(pid);
    let published_at_ready = metric(address, "ftgo_relay_messages_published_total")
        .await
        .unwrap_or(0.0);
    let target = rows as f64;
    let (mut in_flight_max, mut in_flight_sum, mut polls) = (0.0_f64, 0.0, 0);
    // The first poll that sees an acknowledgement: (seconds since ready, published).
    let mut first_ack: Option<(f64, f64)> = None;
    loop {
        meter.sample();
        let body = http::get(address, "/metrics").await.map(|r| r.1);
        let read = |name| body.as_deref().and_then(|b| http::metric_value(b, name));
        let published = read("ftgo_relay_messages_published_total").unwrap_or(0.0);
        let in_flight = read("ftgo_relay_messages_in_flight").unwrap_or(0.0);
        in_flight_max = in_flight_max.max(in_flight);
        in_flight_sum += in_flight;
        polls += 1;
        if first_ack.is_none() && published > published_at_ready {
            first_ack = Some((t0.elapsed().as_secs_f64(), published));
        }
        if published >= target {
            break;
        }
        if t0.elapsed() > DRAIN_WITHIN {
            bail!("the relay published only {published} of {rows} within {DRAIN_WITHIN:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = t0.elapsed();
    let from_spawn = spawned.elapsed();
    let (cpu, rss) = meter.finish();
    let threads = ThreadTicks::read(pid).seconds_since(&threads_before);
    let (first_ack_seconds, published_at_first_ack) = first_ack.unwrap_or_default();
    let drain = RelayDrain {
        first_ack_seconds,
        rate_after_first_ack: Rate {
            rows: rows.saturating_sub(published_at_first_ack as usize),
            seconds: elapsed.as_secs_f64() - first_ack_seconds,
        },
        in_flight_max,
        in_flight_mean: in_flight_sum / f64::from(polls.max(1)),
        rate: Rate::new(rows.saturating_sub(published_at_ready as usize), elapsed),
        ready_seconds: (t0 - spawned).as_secs_f64(),
        published_at_ready,
        rate_from_spawn: Rate::new(rows, from_spawn),
        max_rss_kib: rss.max_kib,
        cpu,
        threads,
        sessions: metric(address, "ftgo_relay_sessions_started_total")
            .await
            .unwrap_or(0.0),
        dead_lettered: metric(address, "ftgo_relay_dead_letter_messages_total")
            .await
            .unwrap_or(0.0),
    };
    if !keep {
        let status = relay.terminate();
        ensure!(
            status.is_some_and(|s| s.success()),
            "the relay exited with {status:?}"
        );
    }
    Ok((drain, address, pid))
}

/// Per round: the backlog written again into `POLLING_SERVICE`'s outbox in polling mode
/// (rows kept), VACUUM/CHECKPOINT, then a polling relay's drain of it, timed as (c).
pub(crate) async fn polling_drains(
    stack: &mut Stack,
    transactions: &Arc<Vec<Vec<OutboxMessage>>>,
) -> anyhow::Result<Vec<RelayDrain>> {
    let db = stack.database(POLLING_SERVICE).clone();
    outbox::schema::migrate(&mut db.connect().await?, OutboxMode::Polling).await?;
    let rows = transactions.iter().map(Vec::len).sum::<usize>();
    let mut drains = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        progress(&format!(
            "polling round {round}/{ROUNDS}: writing the backlog into {POLLING_SERVICE}'s outbox"
        ));
        write_backlog(&db, transactions.clone(), Layout::Ftgo(OutboxMode::Polling)).await?;
        quiesce(stack, &db, "outbox").await?;
        progress(&format!(
            "polling round {round}/{ROUNDS}: (p) the relay in polling mode"
        ));
        let mode = Some(("FTGO_MODE".to_owned(), "polling".to_owned()));
        let (drain, _, _) = relay_drain(stack, POLLING_SERVICE, rows, mode, None, false).await?;
        progress(&format!("polling round {round}: (p) {}", drain.rate));
        drains.push(drain);
    }
    Ok(drains)
}

/// Metric `name` of the relay serving `/metrics` at `address`, now; `None` while it does
/// not answer.
pub(crate) async fn metric(address: SocketAddr, name: &str) -> Option<f64> {
    let (_, body) = http::get(address, "/metrics").await?;
    http::metric_value(&body, name)
}
