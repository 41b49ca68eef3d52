//! A Kafka-protocol broker: tansu with in-memory storage.
//!
//! Apache Kafka cannot be installed here; tansu speaks the same protocol to rdkafka
//! (idempotent produce, consumer groups, headers). Memory storage loses everything when
//! the process ends, so an outage is simulated with SIGSTOP/SIGCONT ([`Broker::pause`]).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::error::{Error, Result};
use crate::ports::free_port;
use crate::prereqs::tansu_bin;
use crate::process::{ManagedProcess, log_tail};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const PORT_ATTEMPTS: usize = 5;

/// A running broker.
#[derive(Debug)]
pub struct Broker {
    process: ManagedProcess,
    port: u16,
}

impl Broker {
    /// Starts tansu on a free loopback port, logging to `logs/broker.log`.
    pub async fn start(logs: &Path) -> Result<Self> {
        let bin = tansu_bin();
        if !bin.is_file() {
            return Err(Error::Prerequisite {
                what: "tansu",
                reason: format!("{} is missing (run `cargo dev install`)", bin.display()),
            });
        }
        let log = logs.join("broker.log");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = free_port()?;
            let url = format!("tcp://127.0.0.1:{port}");
            let mut command = Command::new(&bin);
            command
                .arg("broker")
                .args(["--listener-url", &url, "--advertised-listener-url", &url])
                .args(["--storage-engine", "memory://tansu/"])
                .env("RUST_LOG", "warn");
            let process = ManagedProcess::spawn("broker", command, &log, Signal::SIGTERM)?;
            let mut broker = Self { process, port };
            match broker.wait_ready().await {
                Ok(()) => return Ok(broker),
                Err(_) if attempt < PORT_ATTEMPTS && log_tail(&log, 20).contains("in use") => {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let port = self.port;
        self.process
            .wait_until(
                "its port open",
                STARTUP_TIMEOUT,
                Duration::from_millis(20),
                || async move {
                    tokio::net::TcpStream::connect(("127.0.0.1", port))
                        .await
                        .is_ok()
                },
            )
            .await
    }

    /// `bootstrap.servers` for clients.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Process id of the broker.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The broker's log.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// Creates a topic (topics are not auto-created). Creating one that exists is fine.
    pub async fn create_topic(&self, name: &str, partitions: i32) -> Result<()> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap_servers())
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
        self.process.signal(Signal::SIGSTOP)
    }

    /// Thaws a paused broker (SIGCONT).
    pub fn resume(&self) -> Result<()> {
        self.process.signal(Signal::SIGCONT)
    }
}
