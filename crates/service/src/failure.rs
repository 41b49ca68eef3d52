//! The service crate's error: what can go wrong starting, running or stopping a service.

/// A failure of the platform under a service: database, broker, configuration, serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration, database pool, metrics registry, HTTP server.
    #[error(transparent)]
    Runtime(#[from] runtime::Error),

    /// Consumers, dead-letter producer, units of work.
    #[error(transparent)]
    Messaging(#[from] messaging::Error),

    /// The outbox table's migration.
    #[error(transparent)]
    Outbox(#[from] outbox::Error),

    /// The OpenAPI document could not be rendered.
    #[error("openapi: {0}")]
    OpenApi(String),

    /// A metric could not be registered (a programming error: duplicate name).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),

    /// Binding or serving gRPC failed.
    #[error("grpc server: {0}")]
    Grpc(String),
}

impl Error {
    /// Whether this is the database being unreachable or failing (a client gets 503,
    /// a message is retried), rather than a fault of the service.
    pub fn is_database(&self) -> bool {
        matches!(
            self,
            Self::Runtime(runtime::Error::Database(_) | runtime::Error::Pool(_))
                | Self::Messaging(
                    messaging::Error::Database(_)
                        | messaging::Error::Outbox(outbox::Error::Database(_))
                )
                | Self::Outbox(outbox::Error::Database(_))
        )
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::Runtime(error.into())
    }
}

/// Result with the service [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
