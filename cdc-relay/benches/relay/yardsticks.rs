//! The two yardsticks the relay's drain is held against, over the same backlog: (a)
//! `pg_recvlogical` on an identical slot (how fast PostgreSQL hands the changes out) and
//! (b) a bare rdkafka producer with the relay's own producer settings sending the same
//! records (how fast the broker takes them).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use cdc_relay::config::RelayOptions;
use cdc_relay::sink::kafka::producer_config;
use ftgo_harness::measure::{CpuUse, PhaseMeter, Rate};
use ftgo_harness::{ServiceDatabase, Stack};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use outbox::OutboxMessage;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use runtime::config::{KafkaSettings, TopicSettings};

use crate::{RAW_TOPIC, postgres_cpu, stack_cpu};

const RECVLOGICAL_WITHIN: Duration = Duration::from_secs(120);
const PRODUCE_WITHIN: Duration = Duration::from_secs(300);

/// (a): pg_recvlogical's drain of its slot.
#[derive(Debug, Default)]
pub(crate) struct Recvlogical {
    pub(crate) rate: Rate,
    pub(crate) max_rss_kib: u64,
    /// The slot's `confirmed_flush_lsn` afterwards (filled in by the caller).
    pub(crate) confirmed: String,
    pub(crate) cpu: CpuUse,
}

/// Drains `slot` with pg_recvlogical up to `end_lsn` (the backlog's end), timed from
/// spawn to exit, sampling its RSS and the CPU every 10 ms.
pub(crate) async fn recvlogical(
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
        .arg(format!("publication_names={}", outbox::schema::PUBLICATION))
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
    let cpu = postgres_cpu(stack.postgres.pid())
        .process("pg_recvlogical", pid)
        .start();
    let mut meter = PhaseMeter::new(cpu, pid);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status?,
            _ = tokio::time::sleep(Duration::from_millis(10)) => {
                meter.sample();
                if start.elapsed() > RECVLOGICAL_WITHIN {
                    bail!("pg_recvlogical did not reach {end_lsn} within {RECVLOGICAL_WITHIN:?}");
                }
            }
        }
    };
    let elapsed = start.elapsed();
    // Its last sample is at most 10 ms old: the process is gone now.
    let (cpu, rss) = meter.finish();
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
        max_rss_kib: rss.max_kib,
        confirmed: String::new(),
        cpu,
    })
}

// ---------------------------------------------------------------------------------------
// (b) A bare producer

/// (b): the bare producer's sending of the backlog.
#[derive(Debug, Default)]
pub(crate) struct RawProduce {
    pub(crate) rate: Rate,
    pub(crate) cpu: CpuUse,
}

/// Sends every backlog message to `RAW_TOPIC` as the relay would (same key, payload,
/// headers and timestamp), keeping as many in flight as the relay may, timed from the
/// first send to the last acknowledgement.
pub(crate) async fn raw_produce(
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

    let cpu = stack_cpu(stack.postgres.pid(), stack.broker.pid().unwrap_or_default()).start();
    let start = Instant::now();
    // At most as many awaiting an acknowledgement as the relay allows itself.
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
