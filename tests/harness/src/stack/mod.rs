//! The whole local stack: PostgreSQL with one database per service, and Apache Kafka; on
//! request the relays, the services and a Prometheus scraping them.
//!
//! Kafka is either the stack's own broker or the one a test run shares
//! ([`crate::SHARED_BROKER_ENV`]); on a shared broker every topic and consumer group of
//! the stack carries the stack's own prefix (`kafka.topic_prefix` of its relays and
//! services), so stacks running side by side never see each other's messages.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

mod addresses;
mod apps;
mod supervision;

use std::time::{Duration, Instant};

pub use self::addresses::StackAddresses;
use crate::app::AppProcess;
use crate::broker::Broker;
use crate::error::{Error, IoContext, Result};
use crate::kafka::TopicReader;
use crate::postgres::{Postgres, ServiceDatabase};
use crate::prereqs::{KAFKA_VERSION, POSTGRES_MAJOR};
use crate::progress::Progress;
use crate::prometheus::{Prometheus, ScrapeTarget};

/// How long a started service may take to be ready, and a relay to stream.
const READY_WITHIN: Duration = Duration::from_secs(120);

/// The services of the system; each owns a database of the same name.
pub const SERVICES: [&str; 3] = ["order_service", "consumer_service", "restaurant_service"];

/// The relays' dead-letter topic (their default `relay.dead_letter_topic`).
pub const DEAD_LETTER_TOPIC: &str = "ftgo.dead-letter";

/// Options for [`Stack::start_with`].
#[derive(Debug, Clone, Default)]
pub struct StackOptions {
    /// Run PostgreSQL with `fsync=on` (benchmarks); tests leave it off for speed.
    pub fsync: bool,
    /// Run PostgreSQL with `wal_level=replica` instead of `logical`: no logical
    /// replication, as for relays in polling mode.
    pub without_logical_replication: bool,
    /// Start one CDC relay per service database (`cargo dev up` does).
    pub relays: bool,
    /// Also start the services (consumer-, restaurant-, order-service), each once, after
    /// the relays; implies `relays`.
    pub services: bool,
    /// Extra settings per service binary: `(binary, env key, value)`.
    pub service_env: Vec<(String, String, String)>,
    /// Also start Prometheus scraping every service and relay, with the repository's
    /// alert rules and consoles (`cargo dev up` does); implies `services`.
    pub prometheus: bool,
    /// Extra settings of every relay started with the stack: `(env key, value)`.
    pub relay_env: Vec<(String, String)>,
    /// Start a broker of the stack's own even when the test run shares one: for tests
    /// that pause, kill or restart the broker, and for benchmarks.
    pub private_broker: bool,
    /// Give every service instance static consumer-group membership (KIP-345:
    /// `group.instance.id` = `<binary>-<index>`). Off by default, as in the chart: on
    /// Apache Kafka a restarted member rejoins without it, and with it a rolling update
    /// strands the old pods' partitions (docs/reliability.md, "Consumer groups").
    pub static_membership: bool,
    /// Told about each part as it comes up, with its time (`cargo dev up` prints it);
    /// silent by default.
    pub progress: Progress,
}

/// The setting that gives a service instance its static consumer-group member id
/// (`kafka.properties.group.instance.id`, passed to librdkafka).
pub const GROUP_INSTANCE_ID: &str = "FTGO_KAFKA__PROPERTIES__GROUP_INSTANCE_ID";

/// The service binaries, in start order (order-service calls consumer-service).
pub const SERVICE_BINARIES: [&str; 3] = ["consumer-service", "restaurant-service", "order-service"];

/// Where a process finds Kafka: `kafka.brokers` and `kafka.topic_prefix`.
#[derive(Debug, Clone)]
pub struct KafkaTarget {
    /// `bootstrap.servers`.
    pub bootstrap: String,
    /// Put before every topic and group id.
    pub topic_prefix: String,
}

/// Every real part of the system, running; dropping it stops them all.
///
/// Fields drop in declaration order: processes stop before their directory is removed.
#[derive(Debug)]
pub struct Stack {
    prometheus: Option<Prometheus>,
    services: Vec<AppProcess>,
    relays: Vec<AppProcess>,
    /// The broker.
    pub broker: Broker,
    /// Put before every topic and consumer-group id of the stack ("" on its own broker).
    topic_prefix: String,
    static_membership: bool,
    /// The PostgreSQL server holding every service database.
    pub postgres: Postgres,
    databases: Vec<ServiceDatabase>,
    logs: PathBuf,
    dir: tempfile::TempDir,
}

impl Stack {
    /// Starts the stack with default options.
    pub async fn start() -> Result<Self> {
        Self::start_with(StackOptions::default()).await
    }

    /// Starts PostgreSQL and the broker in a new private directory and creates the
    /// service databases. Set `FTGO_KEEP_STACK_DIR=1` to keep the directory (and logs).
    pub async fn start_with(options: StackOptions) -> Result<Self> {
        let mut dir = tempfile::Builder::new()
            .prefix("ftgo-stack-")
            .tempdir()
            .context(|| "create stack directory".into())?;
        if std::env::var_os("FTGO_KEEP_STACK_DIR").is_some() {
            dir.disable_cleanup(true);
        }
        // Servers running as another user must be able to reach their subdirectories.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))
            .context(|| "chmod stack directory".into())?;
        let logs = dir.path().join("logs");
        std::fs::create_dir(&logs).context(|| "create logs directory".into())?;
        let pg_root = dir.path().join("postgres");
        std::fs::create_dir(&pg_root).context(|| "create postgres directory".into())?;

        let shared = Broker::shared().filter(|_| !options.private_broker);
        let topic_prefix = match &shared {
            // The directory's name is unique ("ftgo-stack-Ab3xYz": letters and digits
            // after the prefix), and legal in a topic name.
            Some(_) => format!(
                "{}.",
                dir.path()
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ),
            None => String::new(),
        };
        let progress = &options.progress;
        let started = Instant::now();
        let (postgres, broker) = tokio::join!(
            async {
                let postgres = Postgres::start(
                    &pg_root,
                    &logs,
                    options.fsync,
                    !options.without_logical_replication,
                )
                .await?;
                progress.done(
                    &format!(
                        "PostgreSQL {POSTGRES_MAJOR} ready on 127.0.0.1:{}",
                        postgres.port()
                    ),
                    started,
                );
                Ok::<_, Error>(postgres)
            },
            async {
                let broker = match shared {
                    Some(broker) => broker,
                    None => Broker::start(dir.path(), &logs).await?,
                };
                let whose = if broker.is_shared() {
                    "the test run's shared"
                } else {
                    "its own"
                };
                progress.done(
                    &format!(
                        "Apache Kafka {KAFKA_VERSION} ({whose} broker) ready at {}",
                        broker.bootstrap_servers()
                    ),
                    started,
                );
                Ok::<_, Error>(broker)
            }
        );
        let (postgres, broker) = (postgres?, broker?);
        broker
            .create_topic(&format!("{topic_prefix}{DEAD_LETTER_TOPIC}"), 1)
            .await?;
        let mut databases = Vec::new();
        for service in SERVICES {
            let started = Instant::now();
            databases.push(postgres.create_service_database(service).await?);
            progress.done(&format!("database {service} created"), started);
        }
        let mut stack = Self {
            prometheus: None,
            services: Vec::new(),
            relays: Vec::new(),
            broker,
            topic_prefix,
            static_membership: options.static_membership,
            postgres,
            databases,
            logs,
            dir,
        };
        stack.write_pgpass()?;
        let services = options.services || options.prometheus;
        if options.relays || services {
            let env: Vec<(&str, &str)> = options
                .relay_env
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            for service in SERVICES {
                let started = Instant::now();
                let relay = stack.start_relay(service, &env).await?;
                progress.done(
                    &format!("cdc-relay for {service} started at {}", relay.url()),
                    started,
                );
            }
        }
        if services {
            for binary in SERVICE_BINARIES {
                let mut env: Vec<(String, String)> = options
                    .service_env
                    .iter()
                    .filter(|(b, _, _)| b == binary)
                    .map(|(_, k, v)| (k.clone(), v.clone()))
                    .collect();
                if binary == "order-service" {
                    // Both transports' addresses: `FTGO_CONSUMER_SERVICE__TRANSPORT` picks.
                    let consumer_service = stack.service("consumer-service", 0);
                    let (rest, grpc) = (consumer_service.url(), consumer_service.grpc_url());
                    env.push(("FTGO_CONSUMER_SERVICE__BASE_URL".into(), rest));
                    env.push(("FTGO_CONSUMER_SERVICE__GRPC_URL".into(), grpc));
                }
                let env: Vec<(&str, &str)> =
                    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let started = Instant::now();
                let service = stack.start_service(binary, &env).await?;
                progress.done(&format!("{binary} started at {}", service.url()), started);
            }
            // Ready: a service reaches its database and the broker; a relay streams.
            for process in stack.services.iter_mut().chain(&mut stack.relays) {
                process.wait_ready(READY_WITHIN).await?;
                let what = match process.binary() {
                    "cdc-relay" => format!("cdc-relay for {} streaming", process.service()),
                    binary => format!("{binary} ready"),
                };
                progress.say(&format!(
                    "{what} ({:.1} s after its start)",
                    process.uptime().as_secs_f64()
                ));
            }
        }
        if options.prometheus {
            let started = Instant::now();
            let url = stack.start_prometheus().await?.url();
            progress.done(
                &format!("Prometheus ready at {url}, every target scraped"),
                started,
            );
        }
        Ok(stack)
    }

    /// Starts Prometheus scraping every service and relay started so far.
    pub async fn start_prometheus(&mut self) -> Result<&Prometheus> {
        let mut targets: Vec<ScrapeTarget> = self
            .services
            .iter()
            .map(|s| ScrapeTarget {
                job: "ftgo-services",
                service: s.binary().to_owned(),
                address: s.http_address(),
            })
            .collect();
        targets.extend(self.relays.iter().map(|r| ScrapeTarget {
            job: "ftgo-relays",
            service: format!("{}-relay", r.service().replace('_', "-")),
            address: r.http_address(),
        }));
        let prometheus = Prometheus::start(self.dir.path(), &self.logs, &targets).await?;
        Ok(self.prometheus.insert(prometheus))
    }

    /// The stack's Prometheus.
    ///
    /// # Panics
    /// If it was not started.
    pub fn prometheus(&self) -> &Prometheus {
        self.prometheus
            .as_ref()
            .expect("Prometheus not started (StackOptions::prometheus)")
    }

    /// How the stack's processes reach Kafka: the broker and the stack's topic prefix.
    pub fn kafka(&self) -> KafkaTarget {
        KafkaTarget {
            bootstrap: self.broker.bootstrap_servers(),
            topic_prefix: self.topic_prefix.clone(),
        }
    }

    /// The Kafka topic of channel `channel` in this stack (with the stack's prefix on a
    /// shared broker).
    pub fn topic(&self, channel: &str) -> String {
        format!("{}{channel}", self.topic_prefix)
    }

    /// Creates the topic of `channel` (see [`Self::topic`]) unless it exists.
    pub async fn create_topic(&self, channel: &str, partitions: i32) -> Result<()> {
        self.broker
            .create_topic(&self.topic(channel), partitions)
            .await
    }

    /// How many partitions the topic of `channel` has (0: it does not exist).
    pub fn partitions(&self, channel: &str) -> Result<usize> {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        let consumer: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", self.broker.bootstrap_servers())
            .create()?;
        let topic = self.topic(channel);
        let metadata = consumer.fetch_metadata(Some(&topic), std::time::Duration::from_secs(10))?;
        Ok(metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| t.partitions().len())
            .sum())
    }

    /// Reads `channels` from the beginning; records name their channel (the topic without
    /// the stack's prefix).
    pub fn topic_reader(&self, channels: &[&str]) -> Result<TopicReader> {
        TopicReader::with_prefix(
            &self.broker.bootstrap_servers(),
            &self.topic_prefix,
            channels,
        )
    }

    /// The database of `service` (one of [`SERVICES`]).
    ///
    /// # Panics
    /// If `service` is not one of [`SERVICES`].
    pub fn database(&self, service: &str) -> &ServiceDatabase {
        self.databases
            .iter()
            .find(|db| db.name == service)
            .unwrap_or_else(|| panic!("no database for service {service}"))
    }

    /// Every password the stack made (each service role's, the superuser's): secrets a
    /// test can look for where they must never appear.
    pub fn passwords(&self) -> Vec<&str> {
        let mut passwords: Vec<&str> = self
            .databases
            .iter()
            .map(|db| db.password.as_str())
            .collect();
        passwords.push(self.postgres.superuser_password());
        passwords
    }

    /// The stack's private directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The directory every process logs into.
    pub fn logs_dir(&self) -> &Path {
        &self.logs
    }

    /// Pids of every server process (PostgreSQL's whole tree, the broker).
    pub fn server_pids(&self) -> Vec<u32> {
        let mut pids = self.postgres.process_tree();
        pids.extend(self.broker.pid());
        pids.extend(self.relays.iter().map(AppProcess::pid));
        pids.extend(self.services.iter().map(AppProcess::pid));
        pids.extend(self.prometheus.iter().map(Prometheus::pid));
        pids
    }

    fn pgpass_path(&self) -> PathBuf {
        self.dir().join("pgpass")
    }

    fn write_pgpass(&self) -> Result<()> {
        let path = self.pgpass_path();
        let lines: String = self
            .databases
            .iter()
            .map(|db| {
                format!(
                    "{}:{}:{}:{}:{}\n",
                    db.host, db.port, db.name, db.user, db.password
                )
            })
            .collect();
        std::fs::write(&path, lines).context(|| "write pgpass".into())?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .context(|| "chmod pgpass".into())
    }
}
