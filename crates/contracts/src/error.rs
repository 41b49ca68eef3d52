//! The contracts crate's error.

/// What can go wrong encoding a message of the published language.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A payload could not be rendered as JSON (a map with non-string keys, a failing
    /// `Serialize`): the message is not written rather than written empty.
    #[error("encoding {message} as JSON: {source}")]
    Json {
        /// The Rust type being encoded.
        message: &'static str,
        /// serde_json's reason.
        source: serde_json::Error,
    },
}

/// Result with the contracts [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
