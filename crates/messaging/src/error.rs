//! The messaging crate's error.

/// What can go wrong starting a consumer or writing messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kafka client could not be created or configured (names what it was for).
    #[error(transparent)]
    Runtime(#[from] runtime::Error),

    /// A consumer could not subscribe to its topics.
    #[error("kafka: cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        /// The topics of the subscription.
        topics: Vec<String>,
        /// librdkafka's reason.
        source: rdkafka::error::KafkaError,
    },

    /// A message of the published language could not be encoded.
    #[error(transparent)]
    Encode(#[from] contracts::Error),

    /// Writing the outbox failed.
    #[error(transparent)]
    Outbox(#[from] outbox::Error),

    /// A statement of the unit of work (begin, commit) failed.
    #[error("database: {}", runtime::error::describe_postgres(.0))]
    Database(#[from] tokio_postgres::Error),

    /// The consumers' metrics could not be registered (a programming error).
    #[error("consumer metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Result with the messaging [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
