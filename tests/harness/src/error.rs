//! The harness's error type.

/// What can go wrong while starting or driving the stack.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A prerequisite (PostgreSQL binaries, Kafka, kube-apiserver) is missing and could not be installed.
    #[error("prerequisite {what}: {reason}")]
    Prerequisite {
        /// Which prerequisite.
        what: &'static str,
        /// Why it is unavailable.
        reason: String,
    },

    /// A managed process failed to start or become ready; the log tail says why.
    #[error("{name} did not start: {reason}\n--- last lines of {log} ---\n{log_tail}")]
    Start {
        /// The component.
        name: String,
        /// What went wrong.
        reason: String,
        /// Its log file.
        log: String,
        /// The last lines of that log.
        log_tail: String,
    },

    /// Filesystem or process-spawning failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },

    /// A database statement of the harness failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),

    /// The broker refused to create a topic.
    #[error("create topic {topic}: {code}")]
    Topic {
        /// The topic.
        topic: String,
        /// The broker's answer.
        code: rdkafka::error::RDKafkaErrorCode,
    },

    /// Placing load through the services' APIs failed.
    #[error("load: {0}")]
    Load(String),

    /// Headless Chromium failed.
    #[error("chromium: {0}")]
    Chromium(String),

    /// A broker admin request failed.
    #[error("broker: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),

    /// A request of the harness to the Kubernetes API server failed.
    #[error("kubernetes: {0}")]
    Kube(#[from] kube::Error),

    /// A Kubernetes object (a manifest, an API answer) is not what the harness expects.
    #[error("kubernetes: {0}")]
    KubeObject(String),

    /// Generating the API server's certificates or keys failed.
    #[error("certificates: {0}")]
    Certificate(#[from] rcgen::Error),

    /// A Helm action (Helm's engine through helm-python-sdk) failed; Helm's message.
    #[error("helm {action}: {message}")]
    Helm {
        /// install, upgrade, rollback, ...
        action: String,
        /// What Helm said.
        message: String,
    },
}

/// Result with the harness [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to an I/O error.
pub(crate) trait IoContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}
