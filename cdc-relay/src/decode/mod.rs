//! From pgoutput bytes to records ready for the broker.
//!
//! [`pgoutput`] parses the protocol messages the relay needs (Relation, Insert) from the
//! stream's raw `XLogData` payloads; [`outbox`] maps an outbox row to an
//! [`OutboxRecord`](crate::sink::OutboxRecord) by column name.

pub mod outbox;
pub mod pgoutput;
