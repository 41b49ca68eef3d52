//! The relay's error type.

use pgwire_replication::PgWireError;

/// What can end a replication session, or the relay.
///
/// A session's error is counted by stage (`ftgo_relay_errors_total`), reported on
/// `/readyz` and retried by the main loop with backoff: the process stays up through
/// database, broker and API server outages. The process ends with an error only before
/// that loop starts ([`crate::Relay::build`]: invalid configuration, a port that cannot be
/// bound, metrics that cannot be registered) or when its operations server fails
/// ([`Error::OperationsServer`]); it then exits non-zero, so that Kubernetes restarts it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration, SQL connection, Kafka client creation (the runtime crate's errors).
    #[error(transparent)]
    Runtime(#[from] runtime::Error),

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

    /// A delivery failed in a way this session cannot retry (the session ends; the
    /// next one resends from the last confirmed position). `cause` is the bounded label
    /// of `ftgo_relay_delivery_failures_total`.
    #[error("kafka delivery ({cause}): {reason}")]
    Delivery {
        /// Why, as counted (`crate::sink::RETRY_CAUSES`).
        cause: &'static str,
        /// librdkafka's or the dead-letter store's words.
        reason: String,
    },

    /// The operations HTTP server's task failed (panicked or was cancelled).
    #[error("operations server: {0}")]
    OperationsServer(String),
}

/// Result with the relay [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
