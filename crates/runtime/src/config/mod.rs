//! Configuration: a base YAML file overlaid by environment variables.
//!
//! Same shape as supabase/etl and zero-to-production: every process has typed settings,
//! a file gives defaults (in Kubernetes a ConfigMap), and environment variables override
//! single keys (in Kubernetes from Secrets). `FTGO_DATABASE__PORT=5433` sets
//! `database.port`: the prefix is followed by one `_`, nesting uses `__`.
//!
//! Errors name the key and what was expected but never echo the value found, so a secret
//! put into the wrong key cannot leak through an error message.

mod settings;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;

pub use settings::{DatabaseSettings, HttpSettings, KafkaSettings, TopicSettings};

use crate::{Error, Result};

/// The environment variable prefix of every FTGO process.
pub const ENV_PREFIX: &str = "FTGO";

/// The variable naming the optional base YAML file.
pub const CONFIG_FILE_VARIABLE: &str = "FTGO_CONFIG_FILE";

/// Where settings come from.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// Optional base file (YAML). A missing file named here is an error.
    pub file: Option<PathBuf>,
    /// Environment to read overrides from; `None` reads the process environment.
    /// Tests pass a map so they never mutate the process-wide environment.
    pub env: Option<HashMap<String, String>>,
}

impl ConfigSource {
    /// The usual source of a process: the file named by `FTGO_CONFIG_FILE` (if set) and
    /// the process environment (without `FTGO_CONFIG_FILE` itself, which names the file
    /// and is no setting).
    pub fn from_process_env() -> Self {
        Self::from_env(std::env::vars().collect())
    }

    /// Like [`ConfigSource::from_process_env`], from the given variables.
    pub fn from_env(mut env: HashMap<String, String>) -> Self {
        let file = env.remove(CONFIG_FILE_VARIABLE).map(PathBuf::from);
        Self {
            file,
            env: Some(env),
        }
    }

    /// Reads and validates settings of type `T`.
    pub fn load<T: DeserializeOwned>(&self) -> Result<T> {
        let mut builder = config::Config::builder();
        if let Some(file) = &self.file {
            builder = builder.add_source(config::File::from(file.as_path()).required(true));
        }
        let env = config::Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(self.env.clone());
        builder
            .add_source(env)
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| describe(e, None))
    }
}

/// Turns a `config` error into ours, keeping the key and dropping any value.
fn describe(error: config::ConfigError, outer_key: Option<String>) -> Error {
    use config::ConfigError as E;
    match error {
        E::NotFound(key) => Error::ConfigKey {
            key,
            reason: "missing".into(),
        },
        E::Type { key, expected, .. } => Error::ConfigKey {
            key: key.or(outer_key).unwrap_or_else(|| "<root>".into()),
            reason: format!("expected {expected}"),
        },
        E::At { error, key, .. } => describe(*error, key.or(outer_key)),
        E::Message(message) => match outer_key {
            Some(key) => Error::ConfigKey {
                key,
                reason: message,
            },
            None => Error::ConfigSource(message),
        },
        E::FileParse { uri, cause } => Error::ConfigSource(format!(
            "cannot parse {}: {cause}",
            uri.unwrap_or_else(|| "file".into())
        )),
        other => Error::ConfigSource(other.to_string()),
    }
}

#[cfg(test)]
mod tests;
