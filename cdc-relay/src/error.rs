//! The relay's error type.

use pgwire_replication::PgWireError;

/// What can end a replication session. Every variant is retried by the relay's main
/// loop with backoff; none makes the process exit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Platform failure (configuration, SQL connection).
    #[error(transparent)]
    Platform(#[from] runtime::Error),

    /// The replication stream failed.
    #[error("replication stream: {0}")]
    Replication(#[from] PgWireError),

    /// A SQL statement of the relay failed.
    #[error("database: {}", runtime::error::describe_postgres(.0))]
    Database(#[from] tokio_postgres::Error),

    /// The outbox table, its publication or slot is not usable yet.
    #[error("source not ready: {0}")]
    SourceNotReady(String),

    /// The replication slot is gone although it existed (or messages were written): WAL
    /// may have been lost. The relay refuses to recreate it past those messages until an
    /// operator accepts the gap (`relay.accept_slot_loss`).
    #[error("replication slot lost: {0}")]
    SlotLost(String),

    /// The pgoutput stream held something we cannot parse: a protocol bug or a
    /// version mismatch, not bad data (bad rows are dead-lettered).
    #[error("pgoutput protocol: {0}")]
    Protocol(String),

    /// The Kubernetes API (leader election's Lease) failed or is not configured.
    #[error("kubernetes api: {0}")]
    Kubernetes(#[from] kube::Error),

    /// The Kafka client failed (creation, or a delivery that will not succeed by
    /// retrying within this session).
    #[error("kafka: {0}")]
    Kafka(String),
}

/// Result with the relay [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
