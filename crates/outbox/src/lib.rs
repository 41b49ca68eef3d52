//! The transactional outbox table: messages written in the caller's own database
//! transaction.
//!
//! This is the one place that guarantees "a message is published if and only if the
//! business data it describes was committed": [`append`] takes the caller's
//! transaction ([`AppendIn`]), so the message rows commit or roll back with everything
//! else the caller wrote. The CDC relay later reads the committed inserts from
//! the WAL ([`OutboxMode::LogTailing`]) or polls the table ([`OutboxMode::Polling`]).
//!
//! This crate is the contract between the services and the relay: the table and its
//! capture set-up ([`schema`]), the Kafka header names ([`headers`]) and channel names
//! ([`channels`]). It knows nothing of message types or encodings (the `contracts` and
//! `messaging` crates), so the relay links none of them.

pub mod channels;
mod error;
pub mod headers;
mod message;
pub mod schema;

pub use error::{Error, Result};
pub use message::OutboxMessage;

use std::future::Future;

use serde::Deserialize;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Statement, Transaction};

/// The append's insert: every message in one statement, their sequences back.
const INSERT: &str = "WITH appended AS (
         INSERT INTO outbox
             (id, destination, message_key, message_type, schema_version, headers, payload)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[],
                              $5::int4[], $6::jsonb[], $7::bytea[])
         RETURNING sequence)
     SELECT array_agg(sequence) FROM appended";
const INSERT_TYPES: [Type; 7] = [
    Type::UUID_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT4_ARRAY,
    Type::JSONB_ARRAY,
    Type::BYTEA_ARRAY,
];
/// Log tailing mode's delete of the rows just inserted.
const DELETE: &str = "DELETE FROM outbox WHERE sequence = ANY($1)";
const DELETE_TYPES: [Type; 1] = [Type::INT8_ARRAY];

/// A transaction [`append`] can write in. A pooled connection's (deadpool's) prepares
/// the append's two statements once per connection and reuses them: sent unnamed, as
/// they were, PostgreSQL parsed and planned them on every call (13 % and 11 % of its
/// samples in the orders benchmark, docs/benchmarks.md 2026-12-08). A plain
/// `tokio_postgres` transaction (the relay's tests and benchmark) prepares them per call.
pub trait AppendIn: Sync {
    /// Statement `sql` with parameter `types`, ready to execute in this transaction.
    fn statement(
        &self,
        sql: &'static str,
        types: &'static [Type],
    ) -> impl Future<Output = std::result::Result<Statement, tokio_postgres::Error>> + Send;

    /// The transaction the statements run in.
    fn transaction(&self) -> &Transaction<'_>;
}

impl AppendIn for Transaction<'_> {
    fn statement(
        &self,
        sql: &'static str,
        types: &'static [Type],
    ) -> impl Future<Output = std::result::Result<Statement, tokio_postgres::Error>> + Send {
        self.prepare_typed(sql, types)
    }

    fn transaction(&self) -> &Transaction<'_> {
        self
    }
}

impl AppendIn for deadpool_postgres::Transaction<'_> {
    fn statement(
        &self,
        sql: &'static str,
        types: &'static [Type],
    ) -> impl Future<Output = std::result::Result<Statement, tokio_postgres::Error>> + Send {
        self.prepare_typed_cached(sql, types)
    }

    fn transaction(&self) -> &Transaction<'_> {
        self
    }
}

async fn query(
    transaction: &impl AppendIn,
    sql: &'static str,
    types: &'static [Type],
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>> {
    let statement = transaction.statement(sql, types).await?;
    Ok(transaction.transaction().query(&statement, params).await?)
}

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

/// Appends `messages` to the outbox inside `transaction`.
///
/// In log tailing mode the rows are deleted again in the same transaction: the inserts
/// remain in the WAL, which is what the relay reads, and the table stays empty. Two
/// statements whatever the number of messages. In polling mode they stay for the relay, which
/// deletes them once published.
///
/// The service scaffolding holds the mode (in the `messaging` crate's `Outbox`), so that
/// writers never guess it; the relay's tests and benchmarks call this with theirs.
pub async fn append(
    transaction: &impl AppendIn,
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
        headers.push(m.headers_json());
        payloads.push(m.payload.as_slice());
    }
    let row = query(
        transaction,
        INSERT,
        &INSERT_TYPES,
        &[
            &ids,
            &destinations,
            &keys,
            &types,
            &versions,
            &headers,
            &payloads,
        ],
    )
    .await?
    .into_iter()
    .next();
    if mode == OutboxMode::Polling {
        return Ok(());
    }
    // `array_agg` over the rows just inserted: one row holding one array.
    let sequences: Vec<i64> = match row {
        Some(row) => row.try_get(0)?,
        None => return Err(Error::NotAppended),
    };
    query(transaction, DELETE, &DELETE_TYPES, &[&sequences]).await?;
    Ok(())
}
