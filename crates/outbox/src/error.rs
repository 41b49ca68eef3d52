//! The outbox crate's error.

/// What can go wrong writing or migrating the outbox.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A statement on the outbox table failed.
    #[error("outbox: database: {}", runtime::error::describe_postgres(.0))]
    Database(#[from] tokio_postgres::Error),

    /// The insert returned no row of sequences to delete again (log tailing mode), so the
    /// table would keep rows the relay also reads from the WAL.
    #[error("outbox: the insert returned no sequences")]
    NotAppended,

    /// The outbox table's migration failed.
    #[error("outbox: {0}")]
    Migration(#[from] runtime::Error),
}

/// Result with the outbox [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
