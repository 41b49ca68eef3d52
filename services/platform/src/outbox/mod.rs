//! The transactional outbox: messages written in the caller's own database transaction.
//!
//! This is the one place that guarantees "a message is published if and only if the
//! business data it describes was committed": [`append`] takes a
//! [`tokio_postgres::Transaction`], so the message rows commit or roll back with
//! everything else the caller wrote. The CDC relay later reads the committed inserts from
//! the WAL.

mod message;
pub mod schema;

pub use message::OutboxMessage;

use tokio_postgres::Transaction;
use tokio_postgres::types::Type;

use crate::Result;

/// Appends `messages` to the outbox inside `transaction`.
///
/// The rows are deleted again in the same transaction: the inserts remain in the WAL,
/// which is what the relay reads, and the table stays empty. Two round trips whatever
/// the number of messages.
pub async fn append(transaction: &Transaction<'_>, messages: &[OutboxMessage]) -> Result<()> {
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
    let sequences: Vec<i64> = row.map(|r| r.get(0)).unwrap_or_default();
    transaction
        .query_typed(
            "DELETE FROM outbox WHERE sequence = ANY($1)",
            &[(&sequences, Type::INT8_ARRAY)],
        )
        .await?;
    Ok(())
}
