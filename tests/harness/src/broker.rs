//! Apache Kafka: one broker in KRaft mode (combined broker and controller, one node), run
//! from the jars that `cargo dev install` resolved from Maven Central
//! ([`prereqs::kafka_libs`]), with its log on disk in the stack's directory.
//!
//! A stack either owns its broker ([`Broker::start`]: the fault tests kill, pause and
//! restart it; `cargo dev up` and the benchmarks run one of their own) or shares one
//! started for a whole test run ([`Broker::shared`]): a JVM start costs seconds on two
//! cores, so `cargo dev test` starts one broker and every stack's topics and consumer
//! groups carry a prefix of their own on it (see docs/architecture.md, "Tests").

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::error::{Error, IoContext, Result};
use crate::ports::{free_port, retry_on_lost_port};
use crate::prereqs::{self, java};
use crate::process::ManagedProcess;

/// Enough for a JVM start on a busy two-core machine.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

/// The environment variable that hands a test run's shared broker to its tests
/// (`bootstrap.servers`); `cargo dev test` sets it.
pub const SHARED_BROKER_ENV: &str = "FTGO_SHARED_KAFKA_BOOTSTRAP";

/// The cluster id every broker of the harness is formatted with (any base64 UUID works;
/// one fixed id lets a single formatted template serve every broker).
const CLUSTER_ID: &str = "ZnRnby1rcmFmdC0xLTAwMA";

/// A broker the stack talks to.
#[derive(Debug)]
pub struct Broker {
    bootstrap: String,
    own: Option<OwnBroker>,
}

/// A broker process this handle started and stops.
#[derive(Debug)]
struct OwnBroker {
    process: ManagedProcess,
    log: PathBuf,
}

impl Broker {
    /// The broker a test run shares ([`SHARED_BROKER_ENV`]), if there is one.
    pub fn shared() -> Option<Self> {
        let bootstrap = std::env::var(SHARED_BROKER_ENV).ok()?;
        Some(Self {
            bootstrap,
            own: None,
        })
    }

    /// Starts a broker of its own in `root/kafka` on free loopback ports, logging to
    /// `logs/broker.log`. Its storage is a copy of the template that Kafka's StorageTool
    /// formatted at install time.
    pub async fn start(root: &Path, logs: &Path) -> Result<Self> {
        let libs = prereqs::kafka_libs();
        if !libs.is_dir() || !prereqs::kafka_storage_template().is_dir() {
            return Err(Error::Prerequisite {
                what: "Apache Kafka",
                reason: format!("{} is missing (run `cargo dev install`)", libs.display()),
            });
        }
        let dir = root.join("kafka");
        let log = logs.join("broker.log");
        retry_on_lost_port(&log, async |_| {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).context(|| format!("create {}", dir.display()))?;
            let data = dir.join("data");
            copy_dir(&prereqs::kafka_storage_template(), &data)?;
            let (port, controller_port) = (free_port()?, free_port()?);
            let config = dir.join("server.properties");
            std::fs::write(&config, server_properties(port, controller_port, &data))
                .context(|| "write server.properties".into())?;
            let log4j = dir.join("log4j2.yaml");
            std::fs::write(&log4j, LOG4J2).context(|| "write log4j2.yaml".into())?;
            let libs = libs.clone();
            let gc = gc_log(&log);
            let process = ManagedProcess::spawn(
                "broker",
                move || kafka_command(&libs, &config, &log4j, &gc),
                &log,
                Signal::SIGTERM,
            )?;
            let mut broker = Self {
                bootstrap: format!("127.0.0.1:{port}"),
                own: Some(OwnBroker {
                    process,
                    log: log.clone(),
                }),
            };
            broker.wait_ready().await?;
            Ok(broker)
        })
        .await
    }

    /// Waits until the broker answers a metadata request with itself as a live broker.
    async fn wait_ready(&mut self) -> Result<()> {
        let bootstrap = self.bootstrap.clone();
        let own = self.own_mut("wait for")?;
        own.process
            .wait_until(
                "a metadata answer naming itself",
                STARTUP_TIMEOUT,
                Duration::from_millis(100),
                || {
                    let bootstrap = bootstrap.clone();
                    async move {
                        tokio::task::spawn_blocking(move || answers_metadata(&bootstrap))
                            .await
                            .unwrap_or(false)
                    }
                },
            )
            .await
    }

    fn own_mut(&mut self, what: &str) -> Result<&mut OwnBroker> {
        self.own.as_mut().ok_or_else(|| shared_error(what))
    }

    fn own(&self, what: &str) -> Result<&OwnBroker> {
        self.own.as_ref().ok_or_else(|| shared_error(what))
    }

    /// `bootstrap.servers` for clients.
    pub fn bootstrap_servers(&self) -> String {
        self.bootstrap.clone()
    }

    /// Whether this stack shares the broker with others (and so prefixes its topics).
    pub fn is_shared(&self) -> bool {
        self.own.is_none()
    }

    /// Process id of the broker (None for a shared broker, or once killed).
    pub fn pid(&self) -> Option<u32> {
        self.own
            .as_ref()
            .map(|own| own.process.pid())
            .filter(|pid| *pid != 0)
    }

    /// The broker's log (None for a shared broker).
    pub fn log_path(&self) -> Option<&Path> {
        self.own.as_ref().map(|own| own.log.as_path())
    }

    /// The JVM's garbage-collection log, `broker-gc.log` next to the broker's log (None
    /// for a shared broker): a benchmark reads the pauses that fell in a phase from it
    /// ([`crate::measure::GcLog`]).
    pub fn gc_log_path(&self) -> Option<PathBuf> {
        self.log_path().map(gc_log)
    }

    /// Creates a topic with replication factor 1 (topics are not auto-created).
    /// Creating one that exists is fine.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.bootstrap)
            .create()?;
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        for result in admin.create_topics([&topic], &options).await? {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => return Err(Error::Topic { topic, code }),
            }
        }
        Ok(())
    }

    /// Freezes the broker (SIGSTOP): connections stay open but nothing is answered, as
    /// with a hung or partitioned broker.
    pub fn pause(&self) -> Result<()> {
        self.own("pause")?.process.signal(Signal::SIGSTOP)
    }

    /// Thaws a paused broker (SIGCONT).
    pub fn resume(&self) -> Result<()> {
        self.own("resume")?.process.signal(Signal::SIGCONT)
    }

    /// Kills the broker with SIGKILL (a crash: no controlled shutdown, whatever its log
    /// had not flushed is lost).
    pub fn kill9(&mut self) -> Result<()> {
        self.own_mut("kill")?.process.kill9();
        Ok(())
    }

    /// Starts the broker again on the same ports and the same log directory (after
    /// [`Self::kill9`]), and waits until it answers.
    pub async fn restart(&mut self) -> Result<()> {
        let own = self.own_mut("restart")?;
        own.process.kill9();
        own.process.respawn()?;
        self.wait_ready().await
    }

    /// Its process, for the supervisor (none for a shared broker: another owns it).
    pub(crate) fn process_mut(&mut self) -> Option<&mut ManagedProcess> {
        self.own.as_mut().map(|own| &mut own.process)
    }
}

fn shared_error(what: &str) -> Error {
    Error::Io {
        context: format!("{what} the broker"),
        source: std::io::Error::other(
            "this stack shares the test run's broker; a test that stops or kills the \
             broker sets StackOptions::private_broker",
        ),
    }
}

/// Whether `bootstrap` answers a metadata request naming one live broker.
fn answers_metadata(bootstrap: &str) -> bool {
    let Ok(consumer) = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("log_level", "0")
        .create::<rdkafka::consumer::BaseConsumer>()
    else {
        return false;
    };
    use rdkafka::consumer::Consumer as _;
    consumer
        .fetch_metadata(None, Duration::from_secs(2))
        .is_ok_and(|m| !m.brokers().is_empty())
}

/// The GC log of the broker logging to `log`.
fn gc_log(log: &Path) -> PathBuf {
    log.with_file_name("broker-gc.log")
}

/// The JVM flags: a small heap; G1 with a 10 ms pause goal (Kafka's own launcher uses
/// G1 at 20 ms) rather than the serial collector, whose young pauses (every ~3 s under
/// load, 8 ms at the median, up to 39 ms on two busy cores) held every produce request
/// they hit: the relay's commit -> ack p99 at 1,000 transactions/s went 27.3 -> 16.3 ms
/// with G1 (docs/benchmarks.md, 2026-12-08); every pause logged to `gc_log`, which the
/// relay benchmark sets against its latency phases; Log4j 2 configured by the stack's
/// file.
fn kafka_command(libs: &Path, config: &Path, log4j: &Path, gc_log: &Path) -> Command {
    let mut command = Command::new(java::java_bin());
    command
        .args([
            "-Xms128m",
            "-Xmx512m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=10",
        ])
        .arg(format!("-Xlog:gc:file={}:uptime", gc_log.display()))
        .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
        .arg("-Djava.awt.headless=true")
        .arg("-cp")
        .arg(java::classpath(libs))
        .arg("kafka.Kafka")
        .arg(config);
    command
}

/// A single-node KRaft cluster on loopback. Replication factors are 1 (one broker);
/// `group.initial.rebalance.delay.ms=0` so a consumer group forms at once; topics are
/// created explicitly, as in the chart.
fn server_properties(port: u16, controller_port: u16, data: &Path) -> String {
    format!(
        "process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={data}
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
",
        data = data.display()
    )
}

/// Kafka's own lines at WARN, with the start and stop of the server at INFO, to stdout
/// (the broker's log file).
const LOG4J2: &str = "Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: \"[%d] %p %m (%c)%n\"
  Loggers:
    Root:
      level: warn
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: info
      - name: kafka.server.BrokerServer
        level: info
";

/// Formats the storage template with Kafka's StorageTool (once per machine, at install):
/// every broker's data directory starts as a copy of it.
pub(crate) fn format_storage_template(progress: &dyn Fn(&str)) -> Result<()> {
    let template = prereqs::kafka_storage_template();
    if template.join("meta.properties").is_file() {
        progress(&format!(
            "Kafka storage template: present in {}",
            template.display()
        ));
        return Ok(());
    }
    progress("Kafka storage template: formatting with kafka.tools.StorageTool");
    let partial = template.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).context(|| format!("create {}", partial.display()))?;
    let config = partial.join("format.properties");
    std::fs::write(
        &config,
        server_properties(9092, 9093, &partial.join("data")),
    )
    .context(|| "write format.properties".into())?;
    let mut format = Command::new(java::java_bin());
    format
        .arg("-cp")
        .arg(java::classpath(&prereqs::kafka_libs()))
        .args(["kafka.tools.StorageTool", "format", "--ignore-formatted"])
        .args(["--cluster-id", CLUSTER_ID, "--config"])
        .arg(&config);
    let output = format
        .output()
        .context(|| "run kafka.tools.StorageTool".into())?;
    if !output.status.success() {
        return Err(Error::Prerequisite {
            what: "Kafka storage",
            reason: format!(
                "StorageTool format failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    let _ = std::fs::remove_dir_all(&template);
    std::fs::rename(partial.join("data"), &template).context(|| "move template".into())?;
    let _ = std::fs::remove_dir_all(&partial);
    progress("Kafka storage template: formatted");
    Ok(())
}

/// Copies the files of `from` (a formatted, empty KRaft log directory: files and
/// folders, no links) to `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).context(|| format!("create {}", to.display()))?;
    for entry in std::fs::read_dir(from).context(|| format!("read {}", from.display()))? {
        let entry = entry.context(|| format!("read {}", from.display()))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .context(|| format!("copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}
