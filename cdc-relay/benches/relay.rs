//! The relay benchmark: drain rate against two yardsticks, latency at a steady load, RSS.
//!
//! Run with `cargo bench -p cdc-relay --bench relay` (release build; a few minutes). It
//! starts a stack with `fsync=on`, writes a backlog of outbox rows through the real
//! outbox API, and then, over that same backlog, times:
//!
//! (a) `pg_recvlogical` draining an identical slot (how fast PostgreSQL can hand the
//!     changes out),
//! (b) a bare rdkafka producer with the relay's settings (its own
//!     `cdc_relay::sink::kafka::producer_config`) sending the same records (how fast
//!     the broker takes them),
//! (c) the relay itself, started only now, from ready until every row was acknowledged.
//!
//! Each of the three runs once per round, interleaved, on slots of its own created
//! before the backlog (round 1: `bench_recvlogical` and the relay's own slot, later
//! rounds `bench_recvlogical_<n>` and `bench_relay_<n>`), so that a burst of unrelated
//! load on a small machine spoils one round rather than the result: the ratio reported is
//! the median of the rounds' ratios.
//!
//! Then it commits one message per transaction at a paced 1,000 transactions/s and reads
//! the relay's commit-to-acknowledgement histogram.
//!
//! Last, the relay's polling mode drains the same backlog, written again (rows kept) in
//! another database's outbox, once per round. The report ends with a markdown block for
//! `docs/benchmarks.md`. Progress goes to stderr; the report to stdout.

#![allow(
    clippy::print_stdout,
    reason = "the report goes to stdout, to be pasted into docs/benchmarks.md"
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use cdc_relay::config::RelayOptions;
use cdc_relay::sink::kafka::producer_config;
use ftgo_harness::measure::rss_kib;
use ftgo_harness::{ServiceDatabase, Stack, StackOptions, http};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use platform::config::{KafkaSettings, TopicSettings};
use platform::outbox::{self, OutboxMessage, OutboxMode};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use tokio::task::JoinSet;

/// Debezium on Kafka Connect against the relay in Debezium layout (its own backlog).
#[path = "relay/debezium.rs"]
mod debezium;

const SERVICE: &str = "order_service";
/// The database whose outbox the polling rounds drain (its own, so that the log tailing
/// relay still running for `SERVICE` does not see those rows).
const POLLING_SERVICE: &str = "consumer_service";
/// The relay's destination topic.
const TOPIC: &str = "bench.orders";
/// The raw-produce yardstick's topic (same partitions).
const RAW_TOPIC: &str = "bench.raw";
const PARTITIONS: i32 = 3;
/// pg_recvlogical's slot in round 1, identical to the relay's.
const BENCH_SLOT: &str = "bench_recvlogical";
/// Rounds of (a), (b), (c) over the same backlog.
const ROUNDS: usize = 3;

/// Backlog: transactions of `PER_TXN` messages, keys over `AGGREGATES` aggregates.
const TRANSACTIONS: usize = 50_000;
const PER_TXN: usize = 2;
const AGGREGATES: usize = 1_000;
const PAYLOAD_BYTES: usize = 300;
/// Concurrent connections writing the backlog.
const WRITERS: usize = 8;

/// Steady phase: one message per transaction at this rate, for this long.
const STEADY_RATE: u64 = 1_000;
const STEADY_SECS: u64 = 30;
const STEADY_WRITERS: u64 = 8;

const RELAY_READY_WITHIN: Duration = Duration::from_secs(60);
const DRAIN_WITHIN: Duration = Duration::from_secs(300);
const RECVLOGICAL_WITHIN: Duration = Duration::from_secs(120);
const PRODUCE_WITHIN: Duration = Duration::from_secs(300);

/// Optional extra environment for the relay, `NAME=value` pairs separated by commas
/// (e.g. `TOKIO_WORKER_THREADS=1`), to try settings; the documented figures use none.
const RELAY_ENV: &str = "FTGO_BENCH_RELAY_ENV";

const RATIO_TARGET: f64 = 0.9;
const P99_TARGET_MS: f64 = 25.0;
const RSS_TARGET_MIB: f64 = 64.0;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench` (and filters); this benchmark takes no arguments.
    let started = Instant::now();
    let mut report = Report {
        machine: Machine::read(),
        ..Default::default()
    };

    progress("starting PostgreSQL (fsync=on) and the broker");
    let mut stack = Stack::start_with(StackOptions {
        fsync: true,
        private_broker: true,
        ..Default::default()
    })
    .await
    .context("start the stack")?;
    let db = stack.database(SERVICE).clone();
    let mut client = db.connect().await?;
    outbox::schema::migrate(&mut client, OutboxMode::LogTailing).await?;
    // Right after the migration, before any message: every slot sees the whole backlog.
    for round in 1..=ROUNDS {
        for slot in std::iter::once(yardstick_slot(round)).chain(relay_slot(round)) {
            client
                .query_one(
                    "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                    &[&slot],
                )
                .await
                .with_context(|| format!("create slot {slot}"))?;
        }
    }
    report.machine.postgres = client
        .query_one("SHOW server_version", &[])
        .await?
        .get::<_, String>(0);
    stack.broker.create_topic(TOPIC, PARTITIONS).await?;
    stack.broker.create_topic(RAW_TOPIC, PARTITIONS).await?;

    // 2. The backlog, through the outbox API.
    let transactions = Arc::new(backlog_messages());
    let rows = transactions.iter().map(Vec::len).sum::<usize>();
    let lsn_before = current_lsn(&client).await?;
    progress(&format!(
        "writing {rows} outbox rows in {TRANSACTIONS} transactions over {WRITERS} connections"
    ));
    let took = write_backlog(&db, transactions.clone(), OutboxMode::LogTailing).await?;
    let lsn_after = current_lsn(&client).await?;
    report.backlog = Backlog {
        rows,
        transactions: TRANSACTIONS,
        writers: WRITERS,
        seconds: took.as_secs_f64(),
        wal_bytes: lsn_after.1.saturating_sub(lsn_before.1),
        end_lsn: lsn_after.0.clone(),
    };
    progress(&format!(
        "backlog written in {:.1} s ({:.0} tx/s), {:.1} MiB of WAL, ends at {}",
        took.as_secs_f64(),
        TRANSACTIONS as f64 / took.as_secs_f64(),
        report.backlog.wal_bytes as f64 / MIB,
        lsn_after.0
    ));

    // Both yardsticks and the relay should meet the same quiet server: vacuum the
    // outbox's dead rows now rather than let autovacuum do it during one measurement.
    progress("vacuum, checkpoint, wait for autovacuum to finish");
    quiesce(&stack, &db, "outbox").await?;

    // 3. Rounds of (a) pg_recvlogical, (b) a bare producer, (c) the relay.
    let mut relay = None;
    for round in 1..=ROUNDS {
        let slot = yardstick_slot(round);
        progress(&format!(
            "round {round}/{ROUNDS}: (a) pg_recvlogical on slot {slot}"
        ));
        let mut a = recvlogical(&stack, &db, &lsn_after.0, rows, &slot).await?;
        let confirmed: Option<String> = client
            .query_one(
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await?
            .get(0);
        a.confirmed = confirmed.unwrap_or_default();
        client
            .query_one("SELECT pg_drop_replication_slot($1)", &[&slot])
            .await?;
        progress(&format!("round {round}: (a) {}", a.rate));

        progress(&format!(
            "round {round}/{ROUNDS}: (b) raw rdkafka produce of the same records"
        ));
        let b = raw_produce(&stack, &transactions).await?;
        progress(&format!("round {round}: (b) {}", b.rate));

        // The relay, started only now: the backlog waits in its slot. The last one keeps
        // running for the steady phase.
        let last = round == ROUNDS;
        progress(&format!(
            "round {round}/{ROUNDS}: (c) the relay on slot {}",
            relay_slot(round).unwrap_or_else(|| platform::outbox::schema::slot_name(SERVICE))
        ));
        let slot = relay_slot(round).map(|slot| ("FTGO_RELAY__SLOT".to_owned(), slot));
        let (c, address, pid) = relay_drain(&mut stack, SERVICE, rows, slot, last).await?;
        progress(&format!("round {round}: (c) {}", c.rate));
        report.rounds.push(Round { a, b, c });
        if last {
            relay = Some((address, pid));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (address, pid) = relay.context("no relay")?;

    // 4. Latency at a steady load.
    progress(&format!(
        "steady load: {STEADY_RATE} tx/s for {STEADY_SECS} s over {STEADY_WRITERS} connections"
    ));
    report.steady = steady(&stack, &db, address, pid, rows).await?;

    // 5. The polling mode over the same backlog.
    report.polling = polling_drains(&mut stack, &transactions).await?;
    drop(transactions);
    let debezium = debezium::compare(&mut stack).await?;
    report.total_seconds = started.elapsed().as_secs_f64();
    drop(stack);

    // 6. The report.
    let text = debezium.append_to(report.render());
    println!("{text}");
    Ok(())
}

fn progress(line: &str) {
    eprintln!("[bench relay] {line}");
}

const MIB: f64 = 1024.0 * 1024.0;

// ---------------------------------------------------------------------------------------
// The backlog

/// Every backlog transaction's messages: same key within a transaction (an order's event
/// and a command about it), keys spread over `AGGREGATES` orders.
fn backlog_messages() -> Vec<Vec<OutboxMessage>> {
    (0..TRANSACTIONS)
        .map(|t| {
            (0..PER_TXN)
                .map(|i| message(TOPIC, t * PER_TXN + i, t % AGGREGATES))
                .collect()
        })
        .collect()
}

/// A message with a `PAYLOAD_BYTES`-byte JSON payload and a traceparent header.
fn message(topic: &str, n: usize, aggregate: usize) -> OutboxMessage {
    let key = format!("order-{aggregate}");
    let mut body = serde_json::json!({
        "orderId": key,
        "seq": n,
        "state": "APPROVAL_PENDING",
        "consumerId": 1_000 + n % 97,
        "restaurantId": 2_000 + n % 13,
        "lineItems": [{ "menuItemId": "mi-1", "quantity": 2 }, { "menuItemId": "mi-7", "quantity": 1 }],
        "orderTotal": "42.50",
    });
    let bare = serde_json::to_vec(&body).map_or(0, |b| b.len());
    let pad = PAYLOAD_BYTES.saturating_sub(bare + r#","pad":"""#.len());
    if let Some(object) = body.as_object_mut() {
        object.insert("pad".into(), "x".repeat(pad).into());
    }
    OutboxMessage::json(topic, key, "OrderCreated", 1, &body).with_header(
        "traceparent",
        format!("00-{:032x}-{:016x}-01", n + 1, n + 1),
    )
}

async fn write_backlog(
    db: &ServiceDatabase,
    transactions: Arc<Vec<Vec<OutboxMessage>>>,
    mode: OutboxMode,
) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut writers = JoinSet::new();
    for w in 0..WRITERS {
        let db = db.clone();
        let transactions = transactions.clone();
        writers.spawn(async move {
            let mut client = db.connect().await?;
            for messages in transactions.iter().skip(w).step_by(WRITERS) {
                let tx = client.transaction().await?;
                outbox::append_for(&tx, messages, mode).await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = writers.join_next().await {
        result??;
    }
    Ok(start.elapsed())
}

/// pg_recvlogical's slot in `round`.
fn yardstick_slot(round: usize) -> String {
    if round == 1 {
        BENCH_SLOT.to_owned()
    } else {
        format!("{BENCH_SLOT}_{round}")
    }
}

/// The relay's slot in `round`: its default (the migration's) in round 1.
fn relay_slot(round: usize) -> Option<String> {
    (round > 1).then(|| format!("bench_relay_{round}"))
}

/// VACUUM `table` (the outbox's dead rows), CHECKPOINT, and wait until no autovacuum
/// worker runs, so that every reader meets the same quiet server.
async fn quiesce(stack: &Stack, db: &ServiceDatabase, table: &str) -> anyhow::Result<()> {
    db.connect()
        .await?
        .batch_execute(&format!("VACUUM {table}"))
        .await?;
    let admin = stack.postgres.superuser(SERVICE).await?;
    admin.batch_execute("CHECKPOINT").await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let workers: i64 = admin
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'",
                &[],
            )
            .await?
            .get(0);
        if workers == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

/// `pg_current_wal_lsn()` as text and as a number.
async fn current_lsn(client: &tokio_postgres::Client) -> anyhow::Result<(String, u64)> {
    let text: String = client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await?
        .get(0);
    let (high, low) = text.split_once('/').context("LSN without '/'")?;
    let value = (u64::from_str_radix(high, 16)? << 32) | u64::from_str_radix(low, 16)?;
    Ok((text, value))
}

// ---------------------------------------------------------------------------------------
// (a) pg_recvlogical

#[derive(Debug, Default)]
struct Recvlogical {
    rate: Rate,
    max_rss_kib: u64,
    confirmed: String,
    cpu: CpuUse,
}

async fn recvlogical(
    stack: &Stack,
    db: &ServiceDatabase,
    end_lsn: &str,
    rows: usize,
    slot: &str,
) -> anyhow::Result<Recvlogical> {
    let binary = stack.postgres.bin_dir().join("pg_recvlogical");
    let mut command = tokio::process::Command::new(&binary);
    command
        .args(["-h", &db.host, "-p", &db.port.to_string()])
        .args(["-U", &db.user, "-d", &db.name, "--no-password"])
        .args(["--slot", slot, "-P", "pgoutput"])
        .args(["-o", "proto_version=1", "-o"])
        .arg(format!(
            "publication_names={}",
            platform::outbox::schema::PUBLICATION
        ))
        .arg("--start")
        .arg(format!("--endpos={end_lsn}"))
        .args(["-f", "/dev/null"])
        // The password reaches the child only, through its environment.
        .env("PGPASSWORD", &db.password)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("spawn {}", binary.display()))?;
    let pid = child.id().unwrap_or(0);
    let mut cpu = CpuTracker::start(stack.postgres.pid(), &[("pg_recvlogical", pid)]);
    let mut max_rss_kib = 0;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                cpu.sample();
                max_rss_kib = max_rss_kib.max(rss_kib(pid).unwrap_or(0));
                if start.elapsed() > RECVLOGICAL_WITHIN {
                    bail!("pg_recvlogical did not reach {end_lsn} within {RECVLOGICAL_WITHIN:?}");
                }
            }
        }
    };
    let elapsed = start.elapsed();
    // Its last sample is at most 10 ms old: the process is gone now.
    let cpu = cpu.finish();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        pipe.read_to_string(&mut stderr).await?;
    }
    ensure!(
        status.success(),
        "pg_recvlogical exited with {status}: {}",
        stderr.trim()
    );
    Ok(Recvlogical {
        rate: Rate::new(rows, elapsed),
        max_rss_kib,
        confirmed: String::new(),
        cpu,
    })
}

// ---------------------------------------------------------------------------------------
// (b) A bare producer

#[derive(Debug, Default)]
struct RawProduce {
    rate: Rate,
    cpu: CpuUse,
}

async fn raw_produce(
    stack: &Stack,
    transactions: &[Vec<OutboxMessage>],
) -> anyhow::Result<RawProduce> {
    // The relay's own producer settings (with its default options), not a copy.
    let kafka = KafkaSettings {
        brokers: stack.broker.bootstrap_servers(),
        properties: BTreeMap::new(),
        topic_prefix: String::new(),
        topics: TopicSettings::default(),
    };
    let producer: FutureProducer =
        producer_config(&kafka, &RelayOptions::default(), "bench-raw-produce").create()?;
    // Connected before the clock starts, as a running relay's producer is.
    let warm = producer.clone();
    tokio::task::spawn_blocking(move || {
        warm.client()
            .fetch_metadata(Some(RAW_TOPIC), Duration::from_secs(10))
            .map(|_| ())
    })
    .await??;

    let cpu = CpuTracker::start(
        stack.postgres.pid(),
        &[
            ("bench", std::process::id()),
            ("broker", stack.broker.pid().unwrap_or_default()),
        ],
    );
    let start = Instant::now();
    // The relay's bound on records awaiting an acknowledgement, as its producer queue's.
    let max_in_flight = RelayOptions::default().max_in_flight;
    let mut in_flight = FuturesUnordered::new();
    let mut acknowledged = 0;
    for message in transactions.iter().flatten() {
        while in_flight.len() >= max_in_flight {
            if let Some(ack) = in_flight.next().await {
                check_ack(ack)?;
                acknowledged += 1;
            }
        }
        let id = message.id.to_string();
        let version = message.schema_version.to_string();
        let mut headers = OwnedHeaders::new_with_capacity(5)
            .insert(Header {
                key: "message-id",
                value: Some(id.as_bytes()),
            })
            .insert(Header {
                key: "message-type",
                value: Some(message.message_type.as_bytes()),
            })
            .insert(Header {
                key: "schema-version",
                value: Some(version.as_bytes()),
            });
        for (name, value) in &message.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let timestamp = now_millis();
        let delivery = loop {
            let record = FutureRecord::to(RAW_TOPIC)
                .key(&message.key)
                .payload(&message.payload)
                .headers(headers.clone())
                .timestamp(timestamp);
            match producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Err((error, _)) => bail!("raw produce: {error}"),
            }
        };
        in_flight.push(delivery);
        if start.elapsed() > PRODUCE_WITHIN {
            bail!("raw produce not done within {PRODUCE_WITHIN:?}");
        }
    }
    while let Some(ack) = in_flight.next().await {
        check_ack(ack)?;
        acknowledged += 1;
    }
    let elapsed = start.elapsed();
    let cpu = cpu.finish();
    Ok(RawProduce {
        rate: Rate::new(acknowledged, elapsed),
        cpu,
    })
}

fn check_ack(ack: <DeliveryFuture as std::future::Future>::Output) -> anyhow::Result<()> {
    match ack {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((error, _))) => bail!("raw produce delivery failed: {error}"),
        Err(_) => bail!("raw produce: producer dropped"),
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ---------------------------------------------------------------------------------------
// (c) The relay

#[derive(Debug, Default)]
struct RelayDrain {
    rate: Rate,
    /// Start-up: from spawning the process to `/readyz` answering 200.
    ready_seconds: f64,
    /// Already published when readiness was seen (excluded from the rate).
    published_at_ready: f64,
    /// All rows over the time from spawning the process.
    rate_from_spawn: Rate,
    max_rss_kib: u64,
    cpu: CpuUse,
    /// When the first acknowledgement was seen (polled every 20 ms), since ready.
    first_ack_seconds: f64,
    /// The rows published after that poll, over the time after it.
    rate_after_first_ack: Rate,
    /// `ftgo_relay_messages_in_flight` as polled every 20 ms: most and mean.
    in_flight_max: f64,
    in_flight_mean: f64,
    /// The relay's busiest threads during the drain: (name, CPU s).
    threads: Vec<(String, f64)>,
    sessions: f64,
    dead_lettered: f64,
}

/// Starts a relay for `service`'s database (with the `setting`, e.g. its slot) and times
/// its drain of the backlog. Unless `keep`, stops it afterwards. Returns its figures,
/// `/metrics` address and pid.
async fn relay_drain(
    stack: &mut Stack,
    service: &str,
    rows: usize,
    setting: Option<(String, String)>,
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
    let relay = stack.start_relay(service, &extra).await?;
    relay.wait_ready(RELAY_READY_WITHIN).await?;
    let t0 = Instant::now();
    let (address, pid) = (relay.http_address(), relay.pid());
    let mut cpu = CpuTracker::start(
        postmaster,
        &[
            ("relay", pid),
            ("broker", broker.unwrap_or_default()),
            ("bench", std::process::id()),
        ],
    );
    let threads_before = thread_ticks(pid);
    let published_at_ready = metric(address, "ftgo_relay_messages_published_total")
        .await
        .unwrap_or(0.0);
    let target = rows as f64;
    let mut max_rss_kib = rss_kib(pid).unwrap_or(0);
    let (mut in_flight_max, mut in_flight_sum, mut polls) = (0.0_f64, 0.0, 0);
    // The first poll that sees an acknowledgement: (seconds since ready, published).
    let mut first_ack: Option<(f64, f64)> = None;
    loop {
        max_rss_kib = max_rss_kib.max(rss_kib(pid).unwrap_or(0));
        cpu.sample();
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
    let cpu = cpu.finish();
    let threads_after = thread_ticks(pid);
    let mut threads: BTreeMap<String, f64> = BTreeMap::new();
    for (tid, (name, ticks)) in &threads_after {
        let before = threads_before.get(tid).map_or(0, |t| t.1);
        *threads.entry(name.clone()).or_default() +=
            ticks.saturating_sub(before) as f64 / ftgo_harness::measure::clock_ticks();
    }
    let mut threads: Vec<(String, f64)> = threads.into_iter().filter(|t| t.1 > 0.0).collect();
    threads.sort_by(|a, b| b.1.total_cmp(&a.1));
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
        max_rss_kib,
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

// ---------------------------------------------------------------------------------------
// The polling mode

/// Per round: the backlog written again into `POLLING_SERVICE`'s outbox in polling mode
/// (rows kept), VACUUM/CHECKPOINT, then a polling relay's drain of it, timed as (c).
async fn polling_drains(
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
        write_backlog(&db, transactions.clone(), OutboxMode::Polling).await?;
        quiesce(stack, &db, "outbox").await?;
        progress(&format!(
            "polling round {round}/{ROUNDS}: (p) the relay in polling mode"
        ));
        let mode = Some(("FTGO_MODE".to_owned(), "polling".to_owned()));
        let (drain, _, _) = relay_drain(stack, POLLING_SERVICE, rows, mode, false).await?;
        progress(&format!("polling round {round}: (p) {}", drain.rate));
        drains.push(drain);
    }
    Ok(drains)
}

fn relay_env() -> Vec<(String, String)> {
    std::env::var(RELAY_ENV)
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

async fn metric(address: SocketAddr, name: &str) -> Option<f64> {
    let (_, body) = http::get(address, "/metrics").await?;
    http::metric_value(&body, name)
}

// ---------------------------------------------------------------------------------------
// 4. Steady load

#[derive(Debug, Default)]
struct Steady {
    transactions: u64,
    seconds: f64,
    /// Client-side commit duration (BEGIN .. COMMIT), exact percentiles in ms.
    commit_p50_ms: f64,
    commit_p99_ms: f64,
    /// From the relay's histogram deltas, by linear interpolation within buckets.
    p50_ms: f64,
    p99_ms: f64,
    mean_ms: f64,
    observed: f64,
    /// Bucket bounds around p99, in ms.
    p99_bucket: (f64, f64),
    max_rss_kib: u64,
    rss_at_start_kib: u64,
    rss_samples: usize,
    cpu: CpuUse,
}

async fn steady(
    stack: &Stack,
    db: &ServiceDatabase,
    address: SocketAddr,
    pid: u32,
    backlog_rows: usize,
) -> anyhow::Result<Steady> {
    let rss_at_start_kib = rss_kib(pid).unwrap_or(0);
    let mut cpu = CpuTracker::start(
        stack.postgres.pid(),
        &[
            ("relay", pid),
            ("broker", stack.broker.pid().unwrap_or_default()),
            ("bench", std::process::id()),
        ],
    );

    let before = histogram(address).await.context("read the histogram")?;
    let published_before = metric(address, "ftgo_relay_messages_published_total")
        .await
        .unwrap_or(0.0);
    ensure!(
        published_before >= backlog_rows as f64,
        "backlog not drained"
    );

    // RSS (and CPU) every 100 ms while the load runs.
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut max = 0;
        let mut samples = 0;
        let mut every = tokio::time::interval(Duration::from_millis(100));
        loop {
            tokio::select! {
                _ = every.tick() => {
                    max = max.max(rss_kib(pid).unwrap_or(0));
                    samples += 1;
                    cpu.sample();
                }
                _ = stop_rx.wait_for(|stop| *stop) => break,
            }
        }
        (max, samples, cpu.finish())
    });

    let total = STEADY_RATE * STEADY_SECS;
    let per_writer = total / STEADY_WRITERS;
    let period = Duration::from_micros(1_000_000 * STEADY_WRITERS / STEADY_RATE);
    // Connected before the clock starts; kept open until the last CPU sample.
    let mut clients = Vec::new();
    for _ in 0..STEADY_WRITERS {
        clients.push(db.connect().await?);
    }
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut writers = JoinSet::new();
    for (w, mut client) in (0..STEADY_WRITERS).zip(clients) {
        // Writers are staggered evenly over one period: one commit due every 1 ms.
        let first = start + period * (w as u32) / (STEADY_WRITERS as u32);
        writers.spawn(async move {
            let mut ticks = tokio::time::interval_at(first, period);
            let mut durations = Vec::with_capacity(per_writer as usize);
            for i in 0..per_writer {
                ticks.tick().await;
                let n = (w * per_writer + i) as usize;
                let messages = [message(TOPIC, 1_000_000 + n, n % AGGREGATES)];
                let began = Instant::now();
                let tx = client.transaction().await?;
                outbox::append(&tx, &messages).await?;
                tx.commit().await?;
                durations.push(began.elapsed());
            }
            anyhow::Ok((client, durations))
        });
    }
    let mut durations = Vec::with_capacity(total as usize);
    let mut clients = Vec::new();
    while let Some(result) = writers.join_next().await {
        let (client, took) = result??;
        clients.push(client);
        durations.extend(took);
    }
    let seconds = start.elapsed().as_secs_f64();

    // Wait for the relay to acknowledge the last of them.
    let target = published_before + total as f64;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let published = metric(address, "ftgo_relay_messages_published_total")
            .await
            .unwrap_or(0.0);
        if published >= target {
            break;
        }
        if Instant::now() > deadline {
            bail!("the relay published only {published} of {target} after the steady phase");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let (max_rss_kib, rss_samples, cpu) = sampler.await?;
    drop(clients);
    let after = histogram(address).await.context("read the histogram")?;
    let delta = after.minus(&before);

    durations.sort_unstable();
    let exact = |q: f64| {
        let index = ((durations.len() as f64 * q).ceil() as usize).clamp(1, durations.len()) - 1;
        durations[index].as_secs_f64() * 1e3
    };
    let p99 = delta.quantile(0.99);
    Ok(Steady {
        transactions: total,
        seconds,
        commit_p50_ms: exact(0.50),
        commit_p99_ms: exact(0.99),
        p50_ms: delta.quantile(0.50).0 * 1e3,
        p99_ms: p99.0 * 1e3,
        p99_bucket: (p99.1 * 1e3, p99.2 * 1e3),
        mean_ms: if delta.count > 0.0 {
            delta.sum / delta.count * 1e3
        } else {
            0.0
        },
        observed: delta.count,
        max_rss_kib,
        rss_at_start_kib,
        rss_samples,
        cpu,
    })
}

/// A Prometheus histogram: cumulative counts by upper bound, sum and count.
#[derive(Debug, Default)]
struct Histogram {
    buckets: Vec<(f64, f64)>,
    sum: f64,
    count: f64,
}

const HISTOGRAM: &str = "ftgo_relay_commit_to_ack_seconds";

async fn histogram(address: SocketAddr) -> Option<Histogram> {
    let (_, body) = http::get(address, "/metrics").await?;
    let mut histogram = Histogram::default();
    for line in body.lines().filter(|l| l.starts_with(HISTOGRAM)) {
        let (series, value) = line.rsplit_once(' ')?;
        let value: f64 = value.parse().ok()?;
        if let Some(rest) = series.strip_prefix(&format!("{HISTOGRAM}_bucket{{le=\"")) {
            let bound = rest.trim_end_matches("\"}");
            let bound = if bound == "+Inf" {
                f64::INFINITY
            } else {
                bound.parse().ok()?
            };
            histogram.buckets.push((bound, value));
        } else if series == format!("{HISTOGRAM}_sum") {
            histogram.sum = value;
        } else if series == format!("{HISTOGRAM}_count") {
            histogram.count = value;
        }
    }
    histogram.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    (!histogram.buckets.is_empty()).then_some(histogram)
}

impl Histogram {
    fn minus(&self, earlier: &Histogram) -> Histogram {
        Histogram {
            buckets: self
                .buckets
                .iter()
                .map(|&(le, n)| {
                    let before = earlier
                        .buckets
                        .iter()
                        .find(|b| b.0 == le)
                        .map_or(0.0, |b| b.1);
                    (le, n - before)
                })
                .collect(),
            sum: self.sum - earlier.sum,
            count: self.count - earlier.count,
        }
    }

    /// Quantile `q` as Prometheus' `histogram_quantile` estimates it: linear
    /// interpolation within the bucket holding the rank (from 0 for the first bucket).
    /// Returns (estimate, bucket lower bound, bucket upper bound) in seconds.
    fn quantile(&self, q: f64) -> (f64, f64, f64) {
        let Some(&(_, total)) = self.buckets.last() else {
            return (f64::NAN, f64::NAN, f64::NAN);
        };
        if total <= 0.0 {
            return (f64::NAN, f64::NAN, f64::NAN);
        }
        let rank = q * total;
        let mut lower = (0.0, 0.0);
        for &(le, cumulative) in &self.buckets {
            if cumulative >= rank {
                if le.is_infinite() {
                    return (lower.0, lower.0, le);
                }
                let within = cumulative - lower.1;
                let fraction = if within > 0.0 {
                    (rank - lower.1) / within
                } else {
                    1.0
                };
                return (lower.0 + (le - lower.0) * fraction, lower.0, le);
            }
            lower = (le, cumulative);
        }
        (lower.0, lower.0, f64::INFINITY)
    }
}

// ---------------------------------------------------------------------------------------
// Process figures from /proc

/// utime + stime of `/proc/<path>/stat`, in clock ticks.
fn stat_ticks(path: &str) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{path}/stat")).ok()?;
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_owned();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `rest` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// Each thread of `pid`: tid -> (name, ticks).
fn thread_ticks(pid: u32) -> BTreeMap<u32, (String, u64)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|tid| Some((tid, stat_ticks(&format!("{pid}/task/{tid}"))?)))
        .collect()
}

/// CPU time of processes over a phase: fixed ones, plus PostgreSQL's postmaster and its
/// children, re-listed at each sample so that backends and WAL senders born during the
/// phase count (from zero). A process gone before the last sample keeps its last value.
#[derive(Debug)]
struct CpuTracker {
    started: Instant,
    postmaster: u32,
    fixed: Vec<(&'static str, u32)>,
    /// pid -> (label, ticks at the start, latest ticks).
    seen: BTreeMap<u32, (&'static str, u64, u64)>,
    /// Busy ticks of the whole machine at the start.
    machine_busy: u64,
}

impl CpuTracker {
    fn start(postmaster: u32, fixed: &[(&'static str, u32)]) -> Self {
        let mut tracker = Self {
            started: Instant::now(),
            postmaster,
            fixed: fixed.to_vec(),
            seen: BTreeMap::new(),
            machine_busy: machine_busy_ticks(),
        };
        for (label, pid, ticks) in tracker.current() {
            tracker.seen.insert(pid, (label, ticks, ticks));
        }
        tracker
    }

    fn current(&self) -> Vec<(&'static str, u32, u64)> {
        let mut processes = self.fixed.clone();
        processes.push(("postgres", self.postmaster));
        processes.extend(children_of(self.postmaster).into_iter().map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline);
            let label = if cmdline.contains("walsender") {
                "walsender"
            } else if cmdline.contains("autovacuum") {
                "autovacuum"
            } else {
                "postgres"
            };
            (label, pid)
        }));
        processes
            .into_iter()
            .filter_map(|(label, pid)| Some((label, pid, stat_ticks(&pid.to_string())?.1)))
            .collect()
    }

    fn sample(&mut self) {
        for (label, pid, ticks) in self.current() {
            self.seen.entry(pid).or_insert((label, 0, 0)).2 = ticks;
        }
    }

    /// CPU seconds per label since the start.
    fn finish(mut self) -> CpuUse {
        self.sample();
        let mut by_label: BTreeMap<&'static str, f64> = BTreeMap::new();
        for (label, start, latest) in self.seen.values() {
            *by_label.entry(label).or_default() +=
                latest.saturating_sub(*start) as f64 / ftgo_harness::measure::clock_ticks();
        }
        let tracked: f64 = by_label.values().sum();
        let machine = machine_busy_ticks().saturating_sub(self.machine_busy) as f64
            / ftgo_harness::measure::clock_ticks();
        // Kernel threads, other users of the machine, processes not listed here.
        by_label.insert("other", (machine - tracked).max(0.0));
        CpuUse {
            wall_seconds: self.started.elapsed().as_secs_f64(),
            seconds: by_label.into_iter().filter(|(_, s)| *s > 0.0).collect(),
        }
    }
}

/// Ticks the whole machine spent busy (not idle, not waiting for I/O), from /proc/stat.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next().and_then(|l| l.strip_prefix("cpu ")) else {
        return 0;
    };
    // user nice system idle iowait irq softirq steal (guest time is within user).
    let fields: Vec<u64> = cpu
        .split_whitespace()
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum()
}

/// Direct children of `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|candidate| {
            std::fs::read_to_string(format!("/proc/{candidate}/stat"))
                .ok()
                .and_then(|stat| {
                    // Field 4 is the parent pid; the name (field 2) may hold spaces.
                    let after_name = stat.rsplit_once(')')?.1;
                    after_name.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// CPU seconds used per component over a phase.
#[derive(Debug, Default)]
struct CpuUse {
    wall_seconds: f64,
    seconds: Vec<(&'static str, f64)>,
}

impl CpuUse {
    /// CPU seconds of `label` (0 if none).
    fn get(&self, label: &str) -> f64 {
        self.seconds
            .iter()
            .find(|(l, _)| *l == label)
            .map_or(0.0, |(_, s)| *s)
    }
}

impl std::fmt::Display for CpuUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .seconds
            .iter()
            .map(|(label, s)| {
                format!(
                    "{label} {s:.2} s ({:.0}% of a core)",
                    100.0 * s / self.wall_seconds.max(1e-9)
                )
            })
            .collect();
        let total: f64 = self.seconds.iter().map(|(_, s)| s).sum();
        write!(
            f,
            "over {:.2} s: {} | machine {total:.2} s = {:.2} of {} cores busy",
            self.wall_seconds,
            parts.join(", "),
            total / self.wall_seconds.max(1e-9),
            std::thread::available_parallelism().map_or(0, usize::from)
        )
    }
}

// ---------------------------------------------------------------------------------------
// The report

#[derive(Debug, Default, Clone, Copy)]
struct Rate {
    rows: usize,
    seconds: f64,
}

impl Rate {
    fn new(rows: usize, elapsed: Duration) -> Self {
        Self {
            rows,
            seconds: elapsed.as_secs_f64(),
        }
    }

    fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.0} rows/s ({} rows in {:.3} s)",
            self.rows_per_second(),
            self.rows,
            self.seconds
        )
    }
}

#[derive(Debug, Default)]
struct Machine {
    date: String,
    cores: usize,
    cpu: String,
    memory_gib: f64,
    postgres: String,
    kafka: String,
}

impl Machine {
    fn read() -> Self {
        let output = |program: &str, args: &[&str]| {
            std::process::Command::new(program)
                .args(args)
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Self {
            date: output("date", &["-u"]),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_else(|| "unknown".into()),
            memory_gib: memory_kib / MIB,
            postgres: String::new(),
            kafka: ftgo_harness::prereqs::kafka_description(),
        }
    }
}

#[derive(Debug, Default)]
struct Backlog {
    rows: usize,
    transactions: usize,
    writers: usize,
    seconds: f64,
    wal_bytes: u64,
    end_lsn: String,
}

/// One round of the three drains.
#[derive(Debug, Default)]
struct Round {
    a: Recvlogical,
    b: RawProduce,
    c: RelayDrain,
}

impl Round {
    /// The slower of the two yardsticks, in rows/s.
    fn limit(&self) -> f64 {
        self.a
            .rate
            .rows_per_second()
            .min(self.b.rate.rows_per_second())
    }

    fn ratio(&self) -> f64 {
        self.c.rate.rows_per_second() / self.limit()
    }
}

impl Report {
    /// Both modes side by side over the same backlog, then the polling rounds' details.
    fn render_polling(&self, out: &mut String) {
        let p = &self.polling;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "relay modes over the same backlog, rows/s, ready -> all acknowledged (polling: \
             backlog rewritten into {POLLING_SERVICE}'s outbox before each round, \
             default batch 1000, interval 100 ms)"
        );
        let mut header = format!("  {:<40}", "");
        for n in 1..=p.len().max(self.rounds.len()) {
            let _ = write!(header, "{:>10}", format!("round {n}"));
        }
        let _ = writeln!(out, "{header}{:>10}", "median");
        let row = |out: &mut String, label: &str, values: Vec<f64>| {
            let mut line = format!("  {label:<40}");
            for v in &values {
                let _ = write!(line, "{v:>10.0}");
            }
            let _ = writeln!(out, "{line}{:>10.0}", median(values.clone()));
        };
        row(
            out,
            "log_tailing (c)",
            self.rounds
                .iter()
                .map(|r| r.c.rate.rows_per_second())
                .collect(),
        );
        row(
            out,
            "polling (p)",
            p.iter().map(|d| d.rate.rows_per_second()).collect(),
        );
        for (n, d) in p.iter().enumerate() {
            let _ = writeln!(
                out,
                "  polling round {}: {}; ready {:.3} s after spawn; first ack {:.3} s after \
                 ready; max RSS {:.1} MiB; sessions {}",
                n + 1,
                d.rate,
                d.ready_seconds,
                d.first_ack_seconds,
                d.max_rss_kib as f64 / 1024.0,
                d.sessions
            );
            let _ = writeln!(out, "        CPU {}", d.cpu);
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

#[derive(Debug, Default)]
struct Report {
    machine: Machine,
    backlog: Backlog,
    rounds: Vec<Round>,
    steady: Steady,
    /// The polling relay's drains of the same backlog, one per round.
    polling: Vec<RelayDrain>,
    total_seconds: f64,
}

impl Report {
    fn render(&self) -> String {
        let m = &self.machine;
        let b = &self.backlog;
        let s = &self.steady;
        let rounds = &self.rounds;
        let ratio = median(rounds.iter().map(Round::ratio).collect());
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let mut out = String::new();
        let _ = writeln!(out, "relay/limit ratio: {ratio:.2}");
        let _ = writeln!(out);
        let _ = writeln!(out, "```text");
        let extra = relay_env();
        if extra.is_empty() {
            let _ = writeln!(out, "command:  cargo bench -p cdc-relay --bench relay");
        } else {
            let pairs: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                out,
                "command:  {RELAY_ENV}={} cargo bench -p cdc-relay --bench relay",
                pairs.join(",")
            );
        }
        let _ = writeln!(out, "date:     {}", m.date);
        let _ = writeln!(
            out,
            "machine:  {} cores, {}, {:.1} GiB RAM",
            m.cores, m.cpu, m.memory_gib
        );
        let _ = writeln!(
            out,
            "software: PostgreSQL {} (fsync=on), {}",
            m.postgres, m.kafka
        );
        let _ = writeln!(
            out,
            "backlog:  {} outbox rows in {} transactions of {PER_TXN}, {PAYLOAD_BYTES}-byte JSON \
             payloads, {AGGREGATES} keys, {PARTITIONS} partitions",
            b.rows, b.transactions
        );
        let _ = writeln!(
            out,
            "          written by {} connections through platform::outbox::append in {:.1} s \
             ({:.0} tx/s, {:.0} rows/s); {:.1} MiB of WAL up to {}",
            b.writers,
            b.seconds,
            b.transactions as f64 / b.seconds,
            b.rows as f64 / b.seconds,
            b.wal_bytes as f64 / MIB,
            b.end_lsn
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "drain of the backlog, rows/s ({} rounds, each runs (a), (b), (c) in turn)",
            rounds.len()
        );
        let row = |out: &mut String, label: &str, values: Vec<f64>, digits: usize| {
            let mut line = format!("  {label:<40}");
            for v in &values {
                let _ = write!(line, "{v:>10.digits$}");
            }
            let _ = write!(line, "{:>10.digits$}", median(values.clone()));
            let _ = writeln!(out, "{line}");
        };
        let mut header = format!("  {:<40}", "");
        for n in 1..=rounds.len() {
            let _ = write!(header, "{:>10}", format!("round {n}"));
        }
        let _ = writeln!(out, "{header}{:>10}", "median");
        let rates = |f: fn(&Round) -> Rate| -> Vec<f64> {
            rounds.iter().map(|r| f(r).rows_per_second()).collect()
        };
        row(
            &mut out,
            "(a) pg_recvlogical, same publication",
            rates(|r| r.a.rate),
            0,
        );
        row(
            &mut out,
            "(b) raw rdkafka produce, relay settings",
            rates(|r| r.b.rate),
            0,
        );
        row(
            &mut out,
            "(c) cdc-relay, ready -> all acknowledged",
            rates(|r| r.c.rate),
            0,
        );
        row(
            &mut out,
            "(c') cdc-relay, after its first ack",
            rates(|r| r.c.rate_after_first_ack),
            0,
        );
        row(
            &mut out,
            "first ack after ready, s",
            rounds.iter().map(|r| r.c.first_ack_seconds).collect(),
            2,
        );
        row(
            &mut out,
            "relay / min(a, b)",
            rounds.iter().map(Round::ratio).collect(),
            2,
        );
        row(
            &mut out,
            "CPU s of other processes during (c)",
            rounds.iter().map(|r| r.c.cpu.get("other")).collect(),
            2,
        );
        let _ = writeln!(
            out,
            "  relay/limit ratio: {ratio:.2} (median of the rounds' ratios; target >= {RATIO_TARGET}: {})",
            verdict(ratio >= RATIO_TARGET)
        );
        let max_rss = rounds.iter().map(|r| r.c.max_rss_kib).max().unwrap_or(0);
        let _ = writeln!(
            out,
            "  relay max RSS while draining: {:.1} MiB",
            max_rss as f64 / 1024.0
        );
        for (n, r) in rounds.iter().enumerate() {
            let _ = writeln!(out, "  round {}:", n + 1);
            let _ = writeln!(
                out,
                "    (a) {}; max RSS {:.1} MiB; slot confirmed {}",
                r.a.rate,
                r.a.max_rss_kib as f64 / 1024.0,
                r.a.confirmed
            );
            let _ = writeln!(out, "        CPU {}", r.a.cpu);
            let _ = writeln!(out, "    (b) {}", r.b.rate);
            let _ = writeln!(out, "        CPU {}", r.b.cpu);
            let _ = writeln!(
                out,
                "    (c) {}; ready {:.3} s after spawn ({:.0} published by then, not counted); \
                 from spawn {}",
                r.c.rate, r.c.ready_seconds, r.c.published_at_ready, r.c.rate_from_spawn
            );
            let _ = writeln!(
                out,
                "        first acknowledgement seen {:.3} s after ready; from then on {}",
                r.c.first_ack_seconds, r.c.rate_after_first_ack
            );
            let _ = writeln!(
                out,
                "        max RSS {:.1} MiB; in flight (max {}) mean {:.0}, most {:.0}; \
                 sessions {}, dead-lettered {}",
                r.c.max_rss_kib as f64 / 1024.0,
                RelayOptions::default().max_in_flight,
                r.c.in_flight_mean,
                r.c.in_flight_max,
                r.c.sessions,
                r.c.dead_lettered
            );
            let _ = writeln!(out, "        CPU {}", r.c.cpu);
            let threads: Vec<String> =
                r.c.threads
                    .iter()
                    .take(6)
                    .map(|(name, s)| format!("{name} {s:.2} s"))
                    .collect();
            let _ = writeln!(out, "        relay threads: {}", threads.join(", "));
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "steady load: 1 message per transaction, paced at {STEADY_RATE} tx/s by \
             {STEADY_WRITERS} connections"
        );
        let _ = writeln!(
            out,
            "  achieved {:.0} tx/s ({} transactions in {:.2} s); client commit duration \
             p50 {:.2} ms, p99 {:.2} ms",
            s.transactions as f64 / s.seconds,
            s.transactions,
            s.seconds,
            s.commit_p50_ms,
            s.commit_p99_ms
        );
        let _ = writeln!(
            out,
            "  commit -> broker ack (ftgo_relay_commit_to_ack_seconds, {} observations; p50/p99 \
             interpolated linearly within histogram buckets):",
            s.observed
        );
        let _ = writeln!(
            out,
            "    p50 {:.1} ms, p99 {:.1} ms (bucket {}-{} ms), mean {:.1} ms (exact, from \
             _sum/_count); target p99 <= {P99_TARGET_MS} ms: {}",
            s.p50_ms,
            s.p99_ms,
            s.p99_bucket.0,
            s.p99_bucket.1,
            s.mean_ms,
            verdict(s.p99_ms <= P99_TARGET_MS)
        );
        let _ = writeln!(
            out,
            "  relay max RSS {:.1} MiB ({} samples every 100 ms; {:.1} MiB when the phase \
             began); target <= {RSS_TARGET_MIB} MiB: {}",
            s.max_rss_kib as f64 / 1024.0,
            s.rss_samples,
            s.rss_at_start_kib as f64 / 1024.0,
            verdict(s.max_rss_kib as f64 / 1024.0 <= RSS_TARGET_MIB)
        );
        let _ = writeln!(out, "  CPU {}", s.cpu);
        self.render_polling(&mut out);
        let _ = writeln!(out, "total bench time {:.0} s", self.total_seconds);
        let _ = writeln!(out, "```");
        out
    }
}
