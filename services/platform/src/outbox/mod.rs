//! The transactional outbox: messages written in the caller's own database transaction.
//!
//! This is the one place that guarantees "a message is published if and only if the
//! business data it describes was committed": [`append`] takes a
//! [`tokio_postgres::Transaction`], so the message rows commit or roll back with
//! everything else the caller wrote. The CDC relay later reads the committed inserts from
//! the WAL ([`OutboxMode::LogTailing`]) or polls the table ([`OutboxMode::Polling`]).

mod message;
pub mod schema;

pub use message::OutboxMessage;

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Deserialize;
use tokio_postgres::Transaction;
use tokio_postgres::types::Type;

use crate::Result;

/// How the relay reads a database's outbox; the same for the services writing to it and
/// for its relay (the chart sets both from `relay.mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxMode {
    /// The relay tails the WAL (logical replication, `wal_level=logical`): rows are
    /// deleted in the transaction that wrote them, the table stays empty.
    #[default]
    LogTailing,
    /// The relay polls the table and deletes what the broker acknowledged: rows are kept,
    /// no replication slot or publication is created, any `wal_level` works.
    Polling,
}

/// The `outbox` section of a service's settings (`FTGO_OUTBOX__MODE`).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// How the relay reads this database's outbox.
    pub mode: OutboxMode,
}

/// Whether [`append`] keeps its rows (polling). Process-wide because the mode is a property
/// of the deployment, fixed at start-up by [`configure`], while `append` is called deep in
/// handlers that hold only a transaction.
static KEEP_ROWS: AtomicBool = AtomicBool::new(false);

/// Sets the mode [`append`] writes for (the service scaffolding calls it once at start).
pub fn configure(mode: OutboxMode) {
    KEEP_ROWS.store(mode == OutboxMode::Polling, Ordering::Relaxed);
}

/// Appends `messages` to the outbox inside `transaction`, for the mode set by
/// [`configure`] (log tailing unless configured).
pub async fn append(transaction: &Transaction<'_>, messages: &[OutboxMessage]) -> Result<()> {
    let mode = if KEEP_ROWS.load(Ordering::Relaxed) {
        OutboxMode::Polling
    } else {
        OutboxMode::LogTailing
    };
    append_for(transaction, messages, mode).await
}

/// Appends `messages` to the outbox inside `transaction`.
///
/// In log tailing mode the rows are deleted again in the same transaction: the inserts
/// remain in the WAL, which is what the relay reads, and the table stays empty. Two round
/// trips whatever the number of messages. In polling mode they stay for the relay, which
/// deletes them once published.
pub async fn append_for(
    transaction: &Transaction<'_>,
    messages: &[OutboxMessage],
    mode: OutboxMode,
) -> Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(messages.len());
    let mut destinations = Vec::with_capacity(messages.len());
    let mut keys = Vec::with_capacity(messages.len());
    let mut types = Vec::with_capacity(messages.len());
    let mut versions = Vec::with_capacity(messages.len());
    let mut headers = Vec::with_capacity(messages.len());
    let mut payloads = Vec::with_capacity(messages.len());
    for m in messages {
        ids.push(m.id);
        destinations.push(m.destination.as_str());
        keys.push(m.key.as_str());
        types.push(m.message_type.as_str());
        versions.push(m.schema_version);
        headers.push(serde_json::to_value(&m.headers).unwrap_or_default());
        payloads.push(m.payload.as_slice());
    }
    let row = transaction
        .query_typed(
            "WITH appended AS (
                 INSERT INTO outbox
                     (id, destination, message_key, message_type, schema_version, headers, payload)
                 SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],
                                      $5::int4[], $6::jsonb[], $7::bytea[])
                 RETURNING sequence)
             SELECT array_agg(sequence) FROM appended",
            &[
                (&ids, Type::UUID_ARRAY),
                (&destinations, Type::TEXT_ARRAY),
                (&keys, Type::TEXT_ARRAY),
                (&types, Type::TEXT_ARRAY),
                (&versions, Type::INT4_ARRAY),
                (&headers, Type::JSONB_ARRAY),
                (&payloads, Type::BYTEA_ARRAY),
            ],
        )
        .await?
        .into_iter()
        .next();
    if mode == OutboxMode::Polling {
        return Ok(());
    }
    let sequences: Vec<i64> = row.map(|r| r.get(0)).unwrap_or_default();
    transaction
        .query_typed(
            "DELETE FROM outbox WHERE sequence = ANY($1)",
            &[(&sequences, Type::INT8_ARRAY)],
        )
        .await?;
    Ok(())
}
