//! Settings shared by every process: where to listen, which database, which brokers.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::config::{FromClientConfig, FromClientConfigAndContext};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{Error, Result};

/// Where a process serves HTTP (its API and/or `/metrics`, `/healthz`, `/readyz`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Address to bind; `0.0.0.0` in a container, loopback by default.
    #[serde(default = "HttpSettings::default_host")]
    pub host: IpAddr,
    /// Port to bind; `0` asks the OS for a free one (tests).
    #[serde(default)]
    pub port: u16,
    /// How long a stop may take after SIGTERM: in-flight requests finish, consumers
    /// leave their groups and commit; whatever is still waiting (on an unreachable
    /// broker, say) is abandoned after this, unacknowledged, and the process exits.
    /// Keep it below the pod's `terminationGracePeriodSeconds`.
    #[serde(default = "HttpSettings::default_stop_timeout_ms")]
    pub stop_timeout_ms: u64,
    /// How long the service keeps serving after SIGTERM, reporting not ready, before it
    /// stops taking requests: on Kubernetes the endpoints still route to a terminating
    /// pod until they have seen it go, so stopping at once drops requests in a rolling
    /// update. 0 (the default, for local runs and tests) stops at once; the chart sets a
    /// few seconds. Delay plus `stop_timeout_ms` must stay below the pod's
    /// `terminationGracePeriodSeconds`.
    #[serde(default)]
    pub shutdown_delay_ms: u64,
}

impl HttpSettings {
    fn default_host() -> IpAddr {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    }

    fn default_stop_timeout_ms() -> u64 {
        10_000
    }

    /// [`Self::shutdown_delay_ms`] as a duration.
    pub fn shutdown_delay(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.shutdown_delay_ms)
    }

    /// [`Self::stop_timeout_ms`] as a duration.
    pub fn stop_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.stop_timeout_ms)
    }

    /// The socket address to bind.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: Self::default_host(),
            port: 0,
            stop_timeout_ms: Self::default_stop_timeout_ms(),
            shutdown_delay_ms: 0,
        }
    }
}

/// How to reach one service's PostgreSQL database.
///
/// The password comes either inline (`database.password`, typically from an environment
/// variable filled from a Kubernetes Secret) or from a file (`database.password_file`, a
/// mounted Secret). It is held as a [`SecretString`]: `Debug` prints `[REDACTED]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Host name or IP address of the server.
    pub host: String,
    /// TCP port of the server.
    #[serde(default = "DatabaseSettings::default_port")]
    pub port: u16,
    /// Role to log in as.
    pub user: String,
    /// Password of `user`, if given inline.
    #[serde(default)]
    pub password: Option<SecretString>,
    /// File holding the password of `user` (trailing newline ignored).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Database name.
    pub name: String,
    /// Largest number of pooled connections.
    #[serde(default = "DatabaseSettings::default_pool_size")]
    pub pool_size: usize,
}

impl DatabaseSettings {
    fn default_port() -> u16 {
        5432
    }

    fn default_pool_size() -> usize {
        8
    }

    /// The password, read from `password_file` when that is set.
    pub fn password(&self) -> Result<Option<SecretString>> {
        match (&self.password, &self.password_file) {
            (Some(_), Some(_)) => Err(Error::ConfigKey {
                key: "database.password_file".into(),
                reason: "set either database.password or database.password_file, not both".into(),
            }),
            (Some(password), None) => Ok(Some(password.clone())),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::ConfigKey {
                    key: "database.password_file".into(),
                    reason: format!("cannot read {}: {e}", path.display()),
                })?;
                Ok(Some(SecretString::from(
                    text.trim_end_matches(['\r', '\n']),
                )))
            }
            (None, None) => Ok(None),
        }
    }

    /// Connection settings for `tokio-postgres`.
    pub fn pg_config(&self) -> Result<tokio_postgres::Config> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .dbname(&self.name)
            .application_name(env!("CARGO_PKG_NAME"))
            .connect_timeout(std::time::Duration::from_secs(5));
        if let Some(password) = self.password()? {
            config.password(password.expose_secret());
        }
        Ok(config)
    }
}

/// librdkafka properties that `kafka.properties` may not change, with the values that are
/// accepted (what the processes set anyway) and why. The relay's producer and every
/// dead-letter producer are idempotent with `acks=all`; the relay's records wait for the
/// broker without a timeout and its producer stops rather than leave a gap (a record that
/// failed while later ones were delivered would be re-sent after them); keys are placed
/// with the Java client's murmur2, so the same key lands on the same partition whoever
/// produces it.
pub const PROTECTED_PROPERTIES: &[(&str, &[&str], &str)] = &[
    (
        "enable.idempotence",
        &["true"],
        "without idempotence a retried send can duplicate or reorder records of a key",
    ),
    (
        "acks",
        &["all", "-1"],
        "a record must be on every in-sync replica before its source is confirmed",
    ),
    (
        "request.required.acks",
        &["all", "-1"],
        "a record must be on every in-sync replica before its source is confirmed",
    ),
    (
        "message.timeout.ms",
        &[],
        "records wait for the broker as long as it takes: one that timed out would be re-sent after the records behind it",
    ),
    (
        "delivery.timeout.ms",
        &[],
        "records wait for the broker as long as it takes: one that timed out would be re-sent after the records behind it",
    ),
    (
        "enable.gapless.guarantee",
        &["true"],
        "a batch that failed while later ones were delivered would be re-sent after them",
    ),
    (
        "retries",
        &[],
        "the idempotent producer retries within the delivery timeout; fewer retries lose records",
    ),
    (
        "message.send.max.retries",
        &[],
        "the idempotent producer retries within the delivery timeout; fewer retries lose records",
    ),
    (
        "max.in.flight.requests.per.connection",
        &[],
        "idempotence bounds the requests in flight to keep order per partition",
    ),
    (
        "max.in.flight",
        &[],
        "idempotence bounds the requests in flight to keep order per partition",
    ),
    (
        "partitioner",
        &["murmur2_random"],
        "keys are placed with the Java client's murmur2, so order per key holds across producers",
    ),
];

/// How to reach the Kafka cluster.
///
/// `properties` are handed to librdkafka as they are, so a real cluster's security
/// settings (`security.protocol`, `sasl.mechanism`, `sasl.username`, `sasl.password`, TLS
/// paths) need no code change. Environment variable names cannot hold dots, so a key may
/// spell them as `_` (`FTGO_KAFKA__PROPERTIES__SASL_PASSWORD` is `sasl.password`;
/// librdkafka has no property with an underscore). Values are redacted in `Debug` output
/// when the key names a secret.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// `bootstrap.servers`: comma-separated `host:port` list.
    pub brokers: String,
    /// Extra librdkafka client properties.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Prepended to every topic and consumer-group id the process uses (`""` by
    /// default): several environments, or several test stacks, can share one Kafka
    /// cluster without seeing each other's messages. Letters, digits, `.`, `_`, `-`.
    #[serde(default)]
    pub topic_prefix: String,
    /// How the topics the processes create are made.
    #[serde(default)]
    pub topics: TopicSettings,
}

/// The shape of the topics the processes create (the brokers here do not auto-create
/// topics; each service creates the channels it uses, the relay its dead-letter topic).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicSettings {
    /// Partitions of each topic created: the unit of parallelism of competing
    /// consumers. -1: the broker's `num.partitions`.
    pub partitions: i32,
    /// Replication factor of each topic created. -1 (the default): the broker's
    /// `default.replication.factor`, which a managed or multi-broker cluster sets (and a
    /// fixed 1 would be refused where `min.insync.replicas` is 2).
    pub replication_factor: i32,
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            partitions: 3,
            replication_factor: -1,
        }
    }
}

impl KafkaSettings {
    /// The Kafka topic of logical channel `channel` (what the outbox and the contracts
    /// name): `topic_prefix` + `channel`.
    pub fn topic(&self, channel: &str) -> String {
        format!("{}{channel}", self.topic_prefix)
    }

    /// The consumer-group id of `subscriber`: `topic_prefix` + `subscriber`.
    pub fn group(&self, subscriber: &str) -> String {
        format!("{}{subscriber}", self.topic_prefix)
    }

    /// Refuses a `topic_prefix` that Kafka would refuse in a topic name, and any
    /// property in [`PROTECTED_PROPERTIES`] set to other than the value the processes
    /// need: `properties` are applied after each client's own settings, so they could
    /// otherwise silently weaken delivery (acks, idempotence, timeouts) or order per key.
    pub fn validate(&self) -> Result<()> {
        for (key, value) in [
            ("kafka.topics.partitions", self.topics.partitions),
            (
                "kafka.topics.replication_factor",
                self.topics.replication_factor,
            ),
        ] {
            if value == 0 || value < -1 {
                return Err(Error::ConfigKey {
                    key: key.into(),
                    reason: format!(
                        "must be positive, or -1 for the broker's default (got {value})"
                    ),
                });
            }
        }
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if !self.topic_prefix.chars().all(legal) || self.topic_prefix.len() > 100 {
            return Err(Error::ConfigKey {
                key: "kafka.topic_prefix".into(),
                reason: "may hold only letters, digits, `.`, `_` and `-` (at most 100)".into(),
            });
        }
        for (key, value) in self.client_properties() {
            let Some((_, allowed, why)) = PROTECTED_PROPERTIES.iter().find(|(k, _, _)| *k == key)
            else {
                continue;
            };
            if !allowed.contains(&value.trim().to_ascii_lowercase().as_str()) {
                return Err(Error::ConfigKey {
                    key: format!("kafka.properties.{key}"),
                    reason: format!("refused: {why}"),
                });
            }
        }
        Ok(())
    }

    /// The extra client properties with librdkafka's dotted names.
    pub fn client_properties(&self) -> impl Iterator<Item = (String, &str)> {
        self.properties
            .iter()
            .map(|(k, v)| (k.replace('_', "."), v.as_str()))
    }

    /// Whether a librdkafka property holds a secret (its value must never be printed).
    pub fn is_secret_property(key: &str) -> bool {
        key.contains("password") || key.contains("secret") || key.ends_with(".pem")
    }

    /// A librdkafka client configuration: `bootstrap.servers`, then `defaults` (what the
    /// client needs, e.g. `enable.idempotence`), then the configured properties, which
    /// win. Every Kafka client of every process is configured here, so security settings
    /// (SASL, TLS) reach all of them.
    pub fn client_config(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        for (key, value) in self.client_properties() {
            config.set(key, value);
        }
        config
    }

    /// Creates the topics of `channels` (prefixed) that do not exist yet, shaped by
    /// [`Self::topics`]; an existing topic is left as it is.
    pub async fn ensure_topics(&self, channels: &[&str]) -> Result<()> {
        use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
        use rdkafka::client::DefaultClientContext;
        use rdkafka::error::RDKafkaErrorCode;
        let admin: AdminClient<DefaultClientContext> =
            self.create(&self.client_config(&[]), "admin client")?;
        let names: Vec<String> = channels.iter().map(|c| self.topic(c)).collect();
        let new: Vec<NewTopic<'_>> = names
            .iter()
            .map(|t| {
                NewTopic::new(
                    t,
                    self.topics.partitions,
                    TopicReplication::Fixed(self.topics.replication_factor),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = admin
            .create_topics(&new, &options)
            .await
            .map_err(|e| Error::Kafka(format!("create topics: {e}")))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => {
                    return Err(Error::Kafka(format!("create topic {topic}: {code}")));
                }
            }
        }
        Ok(())
    }

    /// Creates an rdkafka client (`what` names it in the error). rdkafka's configuration
    /// errors carry the offending value; secret values are cut out of the message.
    pub fn create<T: FromClientConfig>(&self, config: &ClientConfig, what: &str) -> Result<T> {
        config
            .create()
            .map_err(|e| Error::Kafka(self.redact(format!("cannot create {what}: {e}"))))
    }

    /// Like [`Self::create`], with a client context (e.g. one receiving statistics).
    pub fn create_with_context<C: ClientContext, T: FromClientConfigAndContext<C>>(
        &self,
        config: &ClientConfig,
        context: C,
        what: &str,
    ) -> Result<T> {
        config
            .create_with_context(context)
            .map_err(|e| Error::Kafka(self.redact(format!("cannot create {what}: {e}"))))
    }

    /// `message` with every secret property's value replaced by `[REDACTED]`.
    pub fn redact(&self, message: String) -> String {
        self.client_properties()
            .filter(|(key, value)| Self::is_secret_property(key) && !value.is_empty())
            .fold(message, |message, (_, value)| {
                message.replace(value, "[REDACTED]")
            })
    }
}

impl fmt::Debug for KafkaSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let properties: BTreeMap<String, &str> = self
            .client_properties()
            .map(|(k, v)| {
                let shown = if Self::is_secret_property(&k) {
                    "[REDACTED]"
                } else {
                    v
                };
                (k, shown)
            })
            .collect();
        f.debug_struct("KafkaSettings")
            .field("brokers", &self.brokers)
            .field("properties", &properties)
            .field("topic_prefix", &self.topic_prefix)
            .finish()
    }
}
