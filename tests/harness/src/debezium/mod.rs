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
use crate::prereqs::java;
use crate::process::ManagedProcess;

mod connector;
mod install;
mod status;
mod worker;

pub use connector::OutboxConnector;
pub use install::{connector_plugin, ensure_installed, home, plugin_path, worker_libs};
pub use worker::WorkerOptions;

use status::ConnectorStatus;
use worker::{JVM_OPTS, LOG4J2, WorkerFiles, write_properties};

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

/// The connector class, and the router's: what the connector properties name.
pub const CONNECTOR_CLASS: &str = "io.debezium.connector.postgresql.PostgresConnector";
/// The Outbox Event Router SMT (in `debezium-connect-plugins` from 3.6).
pub const EVENT_ROUTER_CLASS: &str = "io.debezium.transforms.outbox.EventRouter";

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
