//! The database side of every phase: the backlog's messages and their writing (in this
//! project's outbox layout or in Debezium's), the steady phases' paced commits, slots,
//! and a quiet server before each measurement.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use ftgo_harness::pgbench::OutboxRow;
use ftgo_harness::{ServiceDatabase, Stack};
use outbox::{self, OutboxMessage, OutboxMode};
use tokio::task::JoinSet;
use tokio_postgres::Transaction;
use tokio_postgres::types::Type;

use crate::{AGGREGATES, PAYLOAD_BYTES, PER_TXN, SERVICE, STEADY_WRITERS};
use crate::{TOPIC, TRANSACTIONS, WRITERS};

/// Which outbox table the messages go to, and how.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Layout {
    /// `outbox::append` in this mode.
    Ftgo(OutboxMode),
    /// Debezium's example table `outboxevent` ([`append_debezium`]).
    Debezium,
}

impl Layout {
    async fn append(self, tx: &Transaction<'_>, messages: &[OutboxMessage]) -> anyhow::Result<()> {
        match self {
            Self::Ftgo(mode) => outbox::append(tx, messages, mode).await?,
            Self::Debezium => append_debezium(tx, messages).await?,
        }
        Ok(())
    }
}

/// Every backlog transaction's messages: same key within a transaction (an order's event
/// and a command about it), keys spread over `AGGREGATES` orders.
pub(crate) fn backlog_messages() -> Vec<Vec<OutboxMessage>> {
    (0..TRANSACTIONS)
        .map(|t| {
            (0..PER_TXN)
                .map(|i| message(TOPIC, t * PER_TXN + i, t % AGGREGATES))
                .collect()
        })
        .collect()
}

/// The steady phases' message number `n`, as a row for pgbench's copy of the append.
pub(crate) fn steady_row(n: usize) -> OutboxRow {
    let m = message(TOPIC, n, n % AGGREGATES);
    OutboxRow {
        destination: m.destination,
        key: m.key,
        message_type: m.message_type,
        schema_version: m.schema_version,
        headers: m.headers,
        payload: m.payload,
    }
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

/// Writes `transactions` over `WRITERS` connections, each transaction committed alone;
/// returns how long it took.
pub(crate) async fn write_backlog(
    db: &ServiceDatabase,
    transactions: Arc<Vec<Vec<OutboxMessage>>>,
    layout: Layout,
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
                layout.append(&tx, messages).await?;
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

/// Appends `messages` as Debezium-layout rows and deletes them again in `tx`, as a
/// service using Debezium does (two statements, like `outbox::append`).
/// Aggregate type `Order`, id the message's, key its key, the traceparent header as the
/// `java.util.Properties` text Debezium's tracing reads.
async fn append_debezium(tx: &Transaction<'_>, messages: &[OutboxMessage]) -> anyhow::Result<()> {
    let ids: Vec<uuid::Uuid> = messages.iter().map(|m| m.id).collect();
    let keys: Vec<&str> = messages.iter().map(|m| m.key.as_str()).collect();
    let types: Vec<&str> = messages.iter().map(|m| m.message_type.as_str()).collect();
    let payloads: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| serde_json::from_slice(&m.payload))
        .collect::<Result<_, _>>()?;
    let spans: Vec<Option<String>> = messages
        .iter()
        .map(|m| {
            m.headers
                .get("traceparent")
                .map(|t| format!("traceparent={t}\n"))
        })
        .collect();
    tx.query_typed(
        "INSERT INTO outboxevent
             (id, aggregatetype, aggregateid, type, payload, tracingspancontext)
         SELECT id, 'Order', key, type, payload, span
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::text[])
              AS m(id, key, type, payload, span)",
        &[
            (&ids, Type::UUID_ARRAY),
            (&keys, Type::TEXT_ARRAY),
            (&types, Type::TEXT_ARRAY),
            (&payloads, Type::JSONB_ARRAY),
            (&spans, Type::TEXT_ARRAY),
        ],
    )
    .await?;
    tx.query_typed(
        "DELETE FROM outboxevent WHERE id = ANY($1)",
        &[(&ids, Type::UUID_ARRAY)],
    )
    .await?;
    Ok(())
}

/// Each message's id -> the instant just before its transaction's `COMMIT`, for a
/// reader that times commit -> record.
pub(crate) type Committing = Arc<Mutex<HashMap<String, Instant>>>;

/// One steady transaction's timing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Commit {
    /// `BEGIN` .. `COMMIT` done.
    pub(crate) transaction: Duration,
    /// `COMMIT` alone.
    pub(crate) commit: Duration,
}

/// What [`paced_commits`] did.
#[derive(Debug)]
pub(crate) struct PacedCommits {
    /// The connections, still open: their backends' CPU counts until the caller's last
    /// sample.
    pub(crate) clients: Vec<tokio_postgres::Client>,
    /// Every transaction's timing.
    pub(crate) commits: Vec<Commit>,
    /// From the first commit due to the last done.
    pub(crate) seconds: f64,
}

/// One message per transaction at `rate` per second for `secs`, over `STEADY_WRITERS`
/// connections staggered evenly over one period (at 1,000/s one commit due every 1 ms),
/// messages numbered from `first`; each noted in `committing` (if given) just before
/// its `COMMIT`.
pub(crate) async fn paced_commits(
    db: &ServiceDatabase,
    layout: Layout,
    rate: u64,
    secs: u64,
    first: usize,
    committing: Option<Committing>,
) -> anyhow::Result<PacedCommits> {
    let per_writer = rate * secs / STEADY_WRITERS;
    let period = Duration::from_micros(1_000_000 * STEADY_WRITERS / rate.max(1));
    // Connected before the clock starts.
    let mut clients = Vec::new();
    for _ in 0..STEADY_WRITERS {
        clients.push(db.connect().await?);
    }
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut writers = JoinSet::new();
    for (w, mut client) in (0..STEADY_WRITERS).zip(clients) {
        let due = start + period * (w as u32) / (STEADY_WRITERS as u32);
        let committing = committing.clone();
        writers.spawn(async move {
            let mut ticks = tokio::time::interval_at(due, period);
            let mut commits = Vec::with_capacity(per_writer as usize);
            for i in 0..per_writer {
                ticks.tick().await;
                let n = (w * per_writer + i) as usize;
                let messages = [message(TOPIC, first + n, n % AGGREGATES)];
                let began = Instant::now();
                let tx = client.transaction().await?;
                layout.append(&tx, &messages).await?;
                let commit_sent = Instant::now();
                if let Some(committing) = &committing {
                    committing
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(messages[0].id.to_string(), commit_sent);
                }
                tx.commit().await?;
                commits.push(Commit {
                    transaction: began.elapsed(),
                    commit: commit_sent.elapsed(),
                });
            }
            anyhow::Ok((client, commits))
        });
    }
    let mut commits = Vec::with_capacity((per_writer * STEADY_WRITERS) as usize);
    let mut clients = Vec::new();
    while let Some(result) = writers.join_next().await {
        let (client, done) = result??;
        clients.push(client);
        commits.extend(done);
    }
    Ok(PacedCommits {
        clients,
        commits,
        seconds: (tokio::time::Instant::now() - start).as_secs_f64(),
    })
}

/// Creates logical replication slot `slot` (pgoutput) now: it holds every change from
/// here on.
pub(crate) async fn create_slot(client: &tokio_postgres::Client, slot: &str) -> anyhow::Result<()> {
    client
        .query_one(
            "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .await
        .with_context(|| format!("create slot {slot}"))?;
    Ok(())
}

/// VACUUM `table` (the outbox's dead rows), CHECKPOINT, and wait until no autovacuum
/// worker runs, so that every reader meets the same quiet server.
pub(crate) async fn quiesce(
    stack: &Stack,
    db: &ServiceDatabase,
    table: &str,
) -> anyhow::Result<()> {
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
pub(crate) async fn current_lsn(client: &tokio_postgres::Client) -> anyhow::Result<(String, u64)> {
    let text: String = client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await?
        .get(0);
    let (high, low) = text.split_once('/').context("LSN without '/'")?;
    let value = (u64::from_str_radix(high, 16)? << 32) | u64::from_str_radix(low, 16)?;
    Ok((text, value))
}
