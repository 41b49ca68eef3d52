//! The CDC relay: transaction log tailing of a service's OUTBOX table into Kafka.
//!
//! One relay runs per service database. It keeps a publication (the outbox table, inserts
//! only) and a logical replication slot (pgoutput), streams committed transactions in
//! commit order ([`source`]), decodes outbox inserts ([`decode`]), produces them with an
//! idempotent Kafka producer ([`sink`]) and confirms a WAL position to PostgreSQL only
//! once every message at or before it was acknowledged by the broker ([`checkpoint`]).
//! Nothing is lost; after a crash some messages may be published twice, and consumers
//! deduplicate on the message id.
//!
//! Databases without logical replication use the second mode, a polling publisher
//! ([`polling`]), chosen by the `mode` setting.
//!
//! With several replicas (Kubernetes), only the holder of a Lease streams ([`leader`]);
//! the slot, which PostgreSQL lets one connection stream at a time, stays the fence.
//!
//! The relay knows nothing of the domain: it moves bytes from the outbox to the topic
//! each row names.

pub mod app;
pub mod checkpoint;
pub mod config;
pub mod decode;
pub mod error;
pub mod leader;
pub mod metrics;
mod pipeline;
mod polling;
pub mod sink;
pub mod source;

pub use app::Relay;
pub use config::RelaySettings;
pub use error::{Error, Result};
