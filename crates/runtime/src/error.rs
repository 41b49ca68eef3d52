//! The one error type of the platform crate.

/// Everything that can go wrong in platform code.
///
/// Messages never carry secret values: configuration errors name the key and what was
/// expected, never the value that was found.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration key is missing or holds a value of the wrong shape.
    #[error("configuration key `{key}`: {reason}")]
    ConfigKey {
        /// Dotted path of the key, e.g. `database.port`.
        key: String,
        /// What is wrong with it, without its value.
        reason: String,
    },

    /// The configuration could not be read at all (unreadable file, bad syntax).
    #[error("configuration: {0}")]
    ConfigSource(String),

    /// A database operation failed.
    #[error("database: {}", describe_postgres(.0))]
    Database(#[from] tokio_postgres::Error),

    /// No connection could be taken from the pool.
    #[error("database pool: {0}")]
    Pool(String),

    /// A Kafka client could not be created or used.
    #[error("kafka: {0}")]
    Kafka(String),

    /// A schema migration failed.
    #[error("migration: {0}")]
    Migration(String),

    /// A metric could not be registered (a programming error: duplicate name).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),

    /// An outgoing HTTP client could not be built.
    #[error("http client: {0}")]
    HttpClient(String),

    /// Binding or serving HTTP failed.
    #[error("http server: {0}")]
    Http(#[from] std::io::Error),
}

/// Result with the platform [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `tokio_postgres::Error` displays only "db error"; operators need the server's words
/// and SQLSTATE, or the I/O cause. Neither carries the connection password.
pub fn describe_postgres(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let hint = db.hint().map(|h| format!(" hint: {h}")).unwrap_or_default();
        return format!(
            "{}: {} (SQLSTATE {}){hint}",
            db.severity(),
            db.message(),
            db.code().code()
        );
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
