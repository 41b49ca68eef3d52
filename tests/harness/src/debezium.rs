//! Debezium's PostgreSQL connector with its Outbox Event Router, run as its users run it:
//! a Kafka Connect standalone worker (`ConnectStandalone worker.properties
//! connector.properties`) with the connector as a plugin, both resolved from Maven
//! Central. The relay claims to be a drop-in for this pair; the relay benchmark
//! (`cdc-relay/benches/relay/debezium.rs`) measures both over one backlog.
//!
//! How it is run, and why each setting:
//!
//! - **Versions.** Debezium 3.6.1.Final (the newest the registry serves whole) on Kafka
//!   Connect 4.3.0, the Kafka it is built and tested against. Connect 4.4.0 (the stack's
//!   broker version) fails the task with `NoClassDefFoundError:
//!   org/apache/kafka/common/utils/Sanitizer`; a 4.3 worker talks to a 4.4 broker as any
//!   older client does. The poms: `tests/debezium/connect-worker` and
//!   `tests/debezium/connector-postgres` (nothing of Debezium is committed).
//! - **JVM.** What `bin/connect-standalone.sh` and `kafka-run-class.sh` pass: heap
//!   `-Xms256M -Xmx2G` ([`DEFAULT_HEAP_OPTS`], the script's default when
//!   `KAFKA_HEAP_OPTS` is unset), G1 with its pause target, JMX agent, headless. Not made
//!   smaller: the comparison is with what users run, and a small heap would trade memory
//!   for GC time that the throughput figures would then hide.
//! - **Worker.** `key.converter`/`value.converter` are `StringConverter`, as Debezium's
//!   outbox documentation pairs with the router, so the record value is the payload
//!   column's text as is (what the relay publishes); `offset.storage.file.filename` in the
//!   worker's own directory (standalone mode keeps source offsets in a file);
//!   `offset.flush.interval.ms=10000` from the distribution's
//!   `config/connect-standalone.properties` (Debezium confirms the slot position to
//!   PostgreSQL when Connect commits offsets); `plugin.path` names the folder holding the
//!   connector's plugin folder; `plugin.discovery=service_load`, because Debezium's jars
//!   carry the ServiceLoader manifests and the default (`hybrid_warn`) also scans every
//!   class on the worker's class path at each start; `listeners` on a free loopback port
//!   for the REST API, whose `/connectors/<name>/status` is the readiness probe.
//!   Producer settings stay Connect's (`acks=all`, one request in flight per broker,
//!   `linger.ms=0`): Connect sets them for exactly-once-capable ordering, and users keep
//!   them.
//! - **Connector.** `plugin.name=pgoutput` (the relay decodes pgoutput too), its own
//!   `slot.name` and `publication.name` (`publication.autocreate.mode=filtered`: Debezium
//!   creates or alters the publication to list exactly `table.include.list`, the outbox
//!   table); `tombstones.on.delete=false` (a service deleting its outbox rows must not
//!   produce tombstones); `transforms=outbox` with the EventRouter and the caller's router
//!   options (`route.topic.replacement`, `table.fields.additional.placement`, ...);
//!   `topic.prefix` is the connector's name (required; the router's topics do not use it).
//! - **Credentials.** The service role: the harness creates it with `REPLICATION`, and as
//!   the table's owner it may create the publication, so no superuser is needed. Its
//!   password reaches the connector through Connect's `FileConfigProvider` from a file
//!   only its owner reads, as the relay's does through `database.password_file`.

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use nix::sys::signal::Signal;

use crate::error::{Error, IoContext, Result};
use crate::http;
use crate::ports::{free_port, retry_on_lost_port};
use crate::postgres::ServiceDatabase;
use crate::prereqs::{self, java};
use crate::process::ManagedProcess;

/// Debezium's example outbox table (its documentation's `outboxevent`), as a service
/// using the Outbox Event Router creates it: what the relay's Debezium layout reads in
/// its tests and in the benchmark.
pub const OUTBOX_TABLE: &str = "CREATE TABLE outboxevent (
    id uuid PRIMARY KEY,
    aggregatetype varchar(255),
    aggregateid varchar(255),
    type varchar(255),
    payload jsonb,
    tracingspancontext varchar(256)
)";

/// The Debezium release measured (`tests/debezium/connector-postgres/pom.xml`).
pub const DEBEZIUM_VERSION: &str = "3.6.1.Final";

/// The Kafka Connect release the worker runs (`tests/debezium/connect-worker/pom.xml`):
/// the one Debezium [`DEBEZIUM_VERSION`] is built against.
pub const CONNECT_VERSION: &str = "4.3.0";

/// The heap `bin/connect-standalone.sh` gives the worker unless `KAFKA_HEAP_OPTS` says
/// otherwise.
pub const DEFAULT_HEAP_OPTS: &str = "-Xms256M -Xmx2G";

/// `KAFKA_JVM_PERFORMANCE_OPTS` and `KAFKA_JMX_OPTS` as `kafka-run-class.sh` sets them.
const JVM_OPTS: [&str; 10] = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
    "-Dcom.sun.management.jmxremote",
    "-Dcom.sun.management.jmxremote.authenticate=false",
    "-Dcom.sun.management.jmxremote.ssl=false",
];

/// The connector class, and the router's: what the connector properties name.
pub const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// The Outbox Event Router SMT (in `debezium-connect-plugins` from 3.6).
pub const EVENT_ROUTER_CLASS: &str = "io.debezium.transforms.outbox.EventRouter";

/// Where the worker's and the connector's jars are resolved: `<cache>/debezium-<version>`.
pub fn home() -> PathBuf {
    prereqs::cache_dir().join(format!("debezium-{DEBEZIUM_VERSION}"))
}

/// The Kafka Connect worker's class path (a folder of jars).
pub fn worker_libs() -> PathBuf {
    home().join("connect-worker")
}

/// The worker's `plugin.path`: a folder of plugin folders.
pub fn plugin_path() -> PathBuf {
    home().join("plugins")
}

/// The PostgreSQL connector's plugin folder (the connector and its dependencies).
pub fn connector_plugin() -> PathBuf {
    plugin_path().join("debezium-connector-postgres")
}

/// Makes sure the worker and the connector can run: Java 17+ and Maven (from Debian when
/// missing), then both poms resolved from Maven Central into [`home`] (once per machine;
/// a changed pom is resolved again). Checks that the plugin holds the Outbox Event Router.
pub fn ensure_installed(progress: &dyn Fn(&str)) -> Result<()> {
    java::ensure_java_and_maven(progress)?;
    let poms = prereqs::workspace_root().join("tests/debezium");
    java::resolve_maven(
        "Kafka Connect worker",
        &poms.join("connect-worker/pom.xml"),
        &worker_libs(),
        progress,
    )?;
    std::fs::create_dir_all(plugin_path())
        .context(|| format!("create {}", plugin_path().display()))?;
    java::resolve_maven(
        "Debezium PostgreSQL connector",
        &poms.join("connector-postgres/pom.xml"),
        &connector_plugin(),
        progress,
    )?;
    let router = format!("{}.class", EVENT_ROUTER_CLASS.replace('.', "/"));
    match jar_holding(&connector_plugin(), &router)? {
        Some(jar) => {
            progress(&format!("Outbox Event Router: in {jar}"));
            Ok(())
        }
        None => Err(Error::Prerequisite {
            what: "Debezium PostgreSQL connector",
            reason: format!("no jar in {} holds {router}", connector_plugin().display()),
        }),
    }
}

/// The name of the jar in `dir` that has an entry `entry`. A zip's central directory
/// holds entry names uncompressed, so finding the bytes is enough.
fn jar_holding(dir: &Path, entry: &str) -> Result<Option<String>> {
    let entries = std::fs::read_dir(dir).context(|| format!("read {}", dir.display()))?;
    for path in entries.filter_map(|e| Some(e.ok()?.path())) {
        if path.extension().is_none_or(|ext| ext != "jar") {
            continue;
        }
        let bytes = std::fs::read(&path).context(|| format!("read {}", path.display()))?;
        if bytes
            .windows(entry.len())
            .any(|window| window == entry.as_bytes())
        {
            return Ok(path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned()));
        }
    }
    Ok(None)
}

/// One Debezium PostgreSQL connector routing an outbox table with the EventRouter.
///
/// Properties are Debezium's own names; [`OutboxConnector::new`] fills in what every
/// outbox connector of the harness shares, and the fields say what differs per use.
#[derive(Debug, Clone)]
pub struct OutboxConnector {
    /// The connector's name (REST API, logs, metrics) and its `topic.prefix`.
    pub name: String,
    /// The outbox table, `schema.table` (`table.include.list`).
    pub table: String,
    /// `slot.name`: a slot of its own, so that it never competes with a relay's.
    pub slot: String,
    /// `publication.name`.
    pub publication: String,
    /// `publication.autocreate.mode`: `filtered` (Debezium creates or alters it to list
    /// exactly the table) or `disabled` (it must exist).
    pub publication_autocreate: String,
    /// `snapshot.mode`: Debezium's default `initial` reads the table's rows first; a
    /// caller streaming a backlog that waits in a slot created before it uses `no_data`.
    pub snapshot_mode: String,
    /// The router's options without the `transforms.outbox.` prefix, e.g.
    /// `("route.topic.replacement", "outbox.${routedByValue}")`.
    pub router: Vec<(String, String)>,
    /// Further connector properties (they override the ones above).
    pub extra: Vec<(String, String)>,
}

impl OutboxConnector {
    /// A connector `name` for `table` with its own slot and publication (both named
    /// `name`), Debezium's default snapshot mode and the router's defaults.
    pub fn new(name: &str, table: &str) -> Self {
        Self {
            name: name.to_owned(),
            table: table.to_owned(),
            slot: name.to_owned(),
            publication: name.to_owned(),
            publication_autocreate: "filtered".to_owned(),
            snapshot_mode: "initial".to_owned(),
            router: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The connector properties, with the password read from `secret` (a properties
    /// file with a `password` key) through Connect's `file` config provider.
    fn properties(&self, db: &ServiceDatabase, secret: &Path) -> Vec<(String, String)> {
        let mut properties: Vec<(String, String)> = [
            ("name", self.name.clone()),
            ("connector.class", CONNECTOR_CLASS.to_owned()),
            ("tasks.max", "1".to_owned()),
            ("plugin.name", "pgoutput".to_owned()),
            ("database.hostname", db.host.clone()),
            ("database.port", db.port.to_string()),
            ("database.user", db.user.clone()),
            (
                "database.password",
                format!("${{file:{}:password}}", secret.display()),
            ),
            ("database.dbname", db.name.clone()),
            ("topic.prefix", self.name.clone()),
            ("slot.name", self.slot.clone()),
            ("publication.name", self.publication.clone()),
            (
                "publication.autocreate.mode",
                self.publication_autocreate.clone(),
            ),
            ("table.include.list", self.table.clone()),
            ("snapshot.mode", self.snapshot_mode.clone()),
            ("tombstones.on.delete", "false".to_owned()),
            ("transforms", "outbox".to_owned()),
            ("transforms.outbox.type", EVENT_ROUTER_CLASS.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        properties.extend(
            self.router
                .iter()
                .map(|(k, v)| (format!("transforms.outbox.{k}"), v.clone())),
        );
        for (key, value) in &self.extra {
            properties.retain(|(k, _)| k != key);
            properties.push((key.clone(), value.clone()));
        }
        properties
    }
}

/// How the worker's JVM runs and what it adds to `worker.properties`.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// `KAFKA_HEAP_OPTS`, split at spaces ([`DEFAULT_HEAP_OPTS`] by default).
    pub heap_opts: String,
    /// Further worker properties (they override the harness's), e.g. `producer.linger.ms`.
    pub extra: Vec<(String, String)>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            heap_opts: DEFAULT_HEAP_OPTS.to_owned(),
            extra: Vec::new(),
        }
    }
}

/// A Kafka Connect standalone worker running one [`OutboxConnector`] or several; stopped
/// (SIGTERM: Connect's graceful shutdown, which commits offsets) when dropped.
#[derive(Debug)]
pub struct DebeziumConnect {
    process: ManagedProcess,
    dir: PathBuf,
    log: PathBuf,
    /// The connectors' names, in start order.
    connectors: Vec<String>,
    rest: SocketAddr,
}

impl DebeziumConnect {
    /// Writes the worker's files into `dir` (created if missing: properties, the offsets
    /// file, the password file, the Log4j 2 configuration) and spawns the worker against
    /// `bootstrap`, logging to `logs/debezium-<name>.log`. Returns at once: the JVM and
    /// the connector start in the background, see [`Self::wait_running`].
    pub fn start(
        dir: &Path,
        logs: &Path,
        bootstrap: &str,
        db: &ServiceDatabase,
        connector: &OutboxConnector,
        options: &WorkerOptions,
    ) -> Result<Self> {
        Self::start_many(
            dir,
            logs,
            bootstrap,
            db,
            std::slice::from_ref(connector),
            options,
        )
    }

    /// [`Self::start`] with several connectors on the one worker (`ConnectStandalone`
    /// takes one properties file per connector), each with its own slot and task: one
    /// JVM start, which costs seconds on two cores, for many router set-ups (the
    /// differential test's). The log is named after the first connector.
    ///
    /// # Panics
    /// If `connectors` is empty.
    pub fn start_many(
        dir: &Path,
        logs: &Path,
        bootstrap: &str,
        db: &ServiceDatabase,
        connectors: &[OutboxConnector],
        options: &WorkerOptions,
    ) -> Result<Self> {
        let first = connectors.first().expect("at least one connector");
        let (libs, plugins) = (worker_libs(), connector_plugin());
        if !libs.is_dir() || !plugins.is_dir() {
            return Err(Error::Prerequisite {
                what: "Debezium",
                reason: format!(
                    "{} or {} is missing (ftgo_harness::debezium::ensure_installed resolves them)",
                    libs.display(),
                    plugins.display()
                ),
            });
        }
        std::fs::create_dir_all(dir).context(|| format!("create {}", dir.display()))?;
        let secret = dir.join("database.properties");
        write_properties(&secret, &[("password".to_owned(), db.password.clone())])?;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))
            .context(|| format!("chmod {}", secret.display()))?;
        let mut connector_files = Vec::with_capacity(connectors.len());
        for connector in connectors {
            let file = if connectors.len() == 1 {
                dir.join("connector.properties")
            } else {
                dir.join(format!("connector-{}.properties", connector.name))
            };
            write_properties(&file, &connector.properties(db, &secret))?;
            connector_files.push(file);
        }
        let log4j = dir.join("log4j2.properties");
        std::fs::write(&log4j, LOG4J2).context(|| format!("write {}", log4j.display()))?;

        let recipe = {
            let (heap_opts, classpath) = (options.heap_opts.clone(), java::classpath(&libs));
            let (dir, worker) = (dir.to_owned(), dir.join("worker.properties"));
            move || {
                let mut command = Command::new(java::java_bin());
                command
                    .args(heap_opts.split_whitespace())
                    .args(JVM_OPTS)
                    .arg(format!("-Dlog4j2.configurationFile={}", log4j.display()))
                    .arg("-cp")
                    .arg(&classpath)
                    .arg("org.apache.kafka.connect.cli.ConnectStandalone")
                    .arg(&worker)
                    .args(&connector_files)
                    .current_dir(&dir);
                command
            }
        };
        let log = logs.join(format!("debezium-{}.log", first.name));
        let rest = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let worker = WorkerFiles {
            dir,
            bootstrap,
            options,
        };
        worker.write(rest)?;
        Ok(Self {
            process: ManagedProcess::spawn(
                &format!("debezium {}", first.name),
                recipe,
                &log,
                Signal::SIGTERM,
            )?,
            dir: dir.to_owned(),
            log,
            connectors: connectors.iter().map(|c| c.name.clone()).collect(),
            rest,
        })
    }

    /// Polls `GET /connectors/<name>/status` until every connector and its task are
    /// `RUNNING` (the tasks then stream from their slots). Fails at once with Connect's
    /// stack trace if one is `FAILED`, or if the worker exits; a worker that lost the
    /// race for its REST port is started again on another one.
    pub async fn wait_running(&mut self, within: Duration) -> Result<()> {
        let log = self.log.clone();
        retry_on_lost_port(&log, async |attempt| {
            if attempt > 1 {
                self.respawn_on_new_port()?;
            }
            self.poll_running(within).await
        })
        .await
    }

    async fn poll_running(&mut self, within: Duration) -> Result<()> {
        let paths: Vec<String> = self
            .connectors
            .iter()
            .map(|name| format!("/connectors/{name}/status"))
            .collect();
        let failure = std::cell::RefCell::new(None);
        let (rest, paths, failed) = (self.rest, paths.as_slice(), &failure);
        self.process
            .wait_until(
                "connectors and tasks RUNNING (Connect's REST API)",
                within,
                Duration::from_millis(50),
                || async move {
                    for path in paths {
                        let Some((200, body)) = http::get(rest, path).await else {
                            return false;
                        };
                        let Some(status) = ConnectorStatus::parse(&body) else {
                            return false;
                        };
                        if let Some(trace) = status.failed() {
                            // Stop polling: it will not recover by itself.
                            *failed.borrow_mut() = Some(format!("{path}: {trace}"));
                            return true;
                        }
                        if !status.running() {
                            return false;
                        }
                    }
                    true
                },
            )
            .await?;
        match failure.into_inner() {
            Some(trace) => Err(self.process.start_error(format!("FAILED: {trace}"))),
            None => Ok(()),
        }
    }

    fn respawn_on_new_port(&mut self) -> Result<()> {
        self.rest = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let worker = std::fs::read_to_string(self.dir.join("worker.properties"))
            .context(|| "read worker.properties".into())?;
        let rewritten: String = worker
            .lines()
            .map(|line| {
                if line.starts_with("listeners=") {
                    format!("listeners=http://{}\n", self.rest)
                } else {
                    format!("{line}\n")
                }
            })
            .collect();
        std::fs::write(self.dir.join("worker.properties"), rewritten)
            .context(|| "write worker.properties".into())?;
        self.process.respawn()?;
        Ok(())
    }

    /// The (first) connector's status as Connect's REST API reports it (JSON), if it
    /// answers.
    pub async fn status(&self) -> Option<String> {
        self.status_of(&self.connectors[0]).await
    }

    /// Connector `name`'s status as Connect's REST API reports it (JSON), if it answers.
    pub async fn status_of(&self, name: &str) -> Option<String> {
        match http::get(self.rest, &format!("/connectors/{name}/status")).await {
            Some((200, body)) => Some(body),
            _ => None,
        }
    }

    /// The stack trace of connector `name` or of its task if either `FAILED`: a failed
    /// task never recovers by itself, so a caller waiting for its records can stop.
    pub async fn failure_of(&self, name: &str) -> Option<String> {
        let body = self.status_of(name).await?;
        ConnectorStatus::parse(&body)?.failed().map(str::to_owned)
    }

    /// The worker's process id (the JVM itself: it is started without a shell).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Where Connect's REST API listens.
    pub fn rest_address(&self) -> SocketAddr {
        self.rest
    }

    /// The worker's log (Connect's and Debezium's, Log4j 2 at INFO).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }

    /// Whether the worker is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Stops the worker gracefully (SIGTERM; Connect stops the task and commits its
    /// offsets, Debezium then confirms the slot position), SIGKILL after a minute.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.process
            .stop_with(Signal::SIGTERM, Duration::from_secs(60))
    }

    /// Crashes the worker (SIGKILL): no offset commit.
    pub fn kill9(&mut self) -> Option<ExitStatus> {
        self.process.kill9()
    }
}

/// `worker.properties`, written again when the REST port changes.
struct WorkerFiles<'a> {
    dir: &'a Path,
    bootstrap: &'a str,
    options: &'a WorkerOptions,
}

impl WorkerFiles<'_> {
    fn write(&self, rest: SocketAddr) -> Result<()> {
        let converter = "org.apache.kafka.connect.storage.StringConverter";
        let mut properties: Vec<(String, String)> = [
            ("bootstrap.servers", self.bootstrap.to_owned()),
            ("key.converter", converter.to_owned()),
            ("value.converter", converter.to_owned()),
            (
                "offset.storage.file.filename",
                self.dir.join("offsets").display().to_string(),
            ),
            ("offset.flush.interval.ms", "10000".to_owned()),
            ("plugin.path", plugin_path().display().to_string()),
            ("plugin.discovery", "service_load".to_owned()),
            ("listeners", format!("http://{rest}")),
            ("config.providers", "file".to_owned()),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider".to_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in &self.options.extra {
            properties.retain(|(k, _)| k != key);
            properties.push((key.clone(), value.clone()));
        }
        write_properties(&self.dir.join("worker.properties"), &properties)
    }
}

/// Writes a Java properties file (`\`, and `:`/`=` in keys, escaped).
fn write_properties(path: &Path, properties: &[(String, String)]) -> Result<()> {
    let text: String = properties
        .iter()
        .map(|(key, value)| {
            let key = key
                .replace('\\', "\\\\")
                .replace(':', "\\:")
                .replace('=', "\\=");
            format!("{key}={}\n", value.replace('\\', "\\\\"))
        })
        .collect();
    std::fs::write(path, text).context(|| format!("write {}", path.display()))
}

/// Log4j 2 as Connect's `config/connect-log4j2.yaml` logs to stdout (INFO), in the
/// properties format, which needs no YAML library on the class path.
const LOG4J2: &str = "\
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
";

/// The parts of Connect's status answer the harness reads.
#[derive(Debug, serde::Deserialize)]
struct ConnectorStatus {
    connector: State,
    #[serde(default)]
    tasks: Vec<State>,
}

#[derive(Debug, serde::Deserialize)]
struct State {
    state: String,
    #[serde(default)]
    trace: Option<String>,
}

impl ConnectorStatus {
    fn parse(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }

    fn running(&self) -> bool {
        self.connector.state == "RUNNING"
            && !self.tasks.is_empty()
            && self.tasks.iter().all(|t| t.state == "RUNNING")
    }

    /// The trace of the connector or of a task that `FAILED`.
    fn failed(&self) -> Option<&str> {
        std::iter::once(&self.connector)
            .chain(&self.tasks)
            .find(|s| s.state == "FAILED")
            .map(|s| s.trace.as_deref().unwrap_or("no trace"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_running_only_with_every_task_running() {
        let running = r#"{"name":"o","connector":{"state":"RUNNING","worker_id":"w"},
            "tasks":[{"id":0,"state":"RUNNING","worker_id":"w"}],"type":"source"}"#;
        let status = ConnectorStatus::parse(running).unwrap();
        assert!(status.running());
        assert!(status.failed().is_none());

        let no_task = r#"{"name":"o","connector":{"state":"RUNNING"},"tasks":[]}"#;
        assert!(!ConnectorStatus::parse(no_task).unwrap().running());

        let failed = r#"{"name":"o","connector":{"state":"RUNNING"},
            "tasks":[{"id":0,"state":"FAILED","trace":"java.lang.NoClassDefFoundError"}]}"#;
        let status = ConnectorStatus::parse(failed).unwrap();
        assert!(!status.running());
        assert_eq!(status.failed(), Some("java.lang.NoClassDefFoundError"));
    }

    #[test]
    fn connector_properties_pass_the_router_options_and_let_extras_override() {
        let db = ServiceDatabase {
            name: "order_service".into(),
            host: "127.0.0.1".into(),
            port: 5432,
            user: "order_service".into(),
            password: "secret".into(),
        };
        let mut connector = OutboxConnector::new("outbox", "public.outboxevent");
        connector.router.push((
            "route.topic.replacement".into(),
            "bench.${routedByValue}".into(),
        ));
        connector
            .extra
            .push(("snapshot.mode".into(), "no_data".into()));
        let properties = connector.properties(&db, Path::new("/s/db.properties"));
        let get = |key: &str| {
            properties
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            get("transforms.outbox.route.topic.replacement"),
            ["bench.${routedByValue}"]
        );
        assert_eq!(get("snapshot.mode"), ["no_data"]);
        assert_eq!(
            get("database.password"),
            ["${file:/s/db.properties:password}"]
        );
        assert!(!properties.iter().any(|(_, v)| v.contains("secret")));
    }
}
