//! The workspace's own binaries as real processes: the CDC relay (one per service
//! database) and the services. Each gets its service database (password through a file,
//! not the environment), the broker, and a free HTTP port (and a free gRPC port for the
//! services in [`GRPC_SERVERS`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::error::{IoContext, Result};
use crate::http;
use crate::ports::free_port;
use crate::postgres::ServiceDatabase;
use crate::process::ManagedProcess;
use crate::stack::KafkaTarget;

/// The binaries that also serve gRPC (`grpc.port`, next to `http.port`).
pub const GRPC_SERVERS: [&str; 1] = ["consumer-service"];

/// A running workspace binary (relay or service).
#[derive(Debug)]
pub struct AppProcess {
    process: ManagedProcess,
    http: SocketAddr,
    grpc: Option<SocketAddr>,
    binary: String,
    service: String,
}

/// The CDC relay is an [`AppProcess`] running `cdc-relay`.
pub type RelayProcess = AppProcess;

impl AppProcess {
    /// Starts `binary` for `db`, using `kafka`. The database password reaches it through
    /// a file (`database.password_file`), not the environment. `extra_env` adds or
    /// overrides settings (e.g. `FTGO_RELAY__SLOT`). Returns once its HTTP endpoint
    /// answers; [`AppProcess::wait_ready`] waits for `/readyz`.
    pub async fn start(
        binary_name: &str,
        db: &ServiceDatabase,
        kafka: &KafkaTarget,
        dir: &Path,
        extra_env: &[(&str, &str)],
    ) -> Result<Self> {
        let binary = crate::binaries::path(binary_name)?;
        Self::start_from(binary_name, binary, db, kafka, dir, extra_env).await
    }

    /// [`AppProcess::start`] with the executable at `binary` rather than the workspace's
    /// build of `binary_name`: another build of the same program (the relay benchmark
    /// compares two side by side).
    pub async fn start_from(
        binary_name: &str,
        binary: PathBuf,
        db: &ServiceDatabase,
        kafka: &KafkaTarget,
        dir: &Path,
        extra_env: &[(&str, &str)],
    ) -> Result<Self> {
        let secret = dir.join(format!("{}.password", db.name));
        std::fs::write(&secret, &db.password).context(|| "write password file".into())?;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))
            .context(|| "chmod password file".into())?;
        let port = free_port()?;
        let mut env: Vec<(String, String)> = [
            ("FTGO_HTTP__PORT", port.to_string()),
            ("FTGO_DATABASE__HOST", db.host.clone()),
            ("FTGO_DATABASE__PORT", db.port.to_string()),
            ("FTGO_DATABASE__USER", db.user.clone()),
            ("FTGO_DATABASE__NAME", db.name.clone()),
            ("FTGO_DATABASE__PASSWORD_FILE", secret.display().to_string()),
            ("FTGO_KAFKA__BROKERS", kafka.bootstrap.clone()),
            ("FTGO_KAFKA__TOPIC_PREFIX", kafka.topic_prefix.clone()),
            ("RUST_LOG", "info".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let grpc = if GRPC_SERVERS.contains(&binary_name) {
            let port = free_port()?;
            env.push(("FTGO_GRPC__PORT".to_owned(), port.to_string()));
            Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        } else {
            None
        };
        for (key, value) in extra_env {
            env.retain(|(k, _)| k != key);
            env.push(((*key).to_owned(), (*value).to_owned()));
        }
        let log = dir
            .join("logs")
            .join(format!("{binary_name}-{}-{port}.log", db.name));
        let mut relay = Self {
            process: spawn(binary_name, binary, env, &log)?,
            http: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            grpc,
            binary: binary_name.to_owned(),
            service: db.name.clone(),
        };
        relay.wait_answering().await?;
        Ok(relay)
    }

    async fn wait_answering(&mut self) -> Result<()> {
        let address = self.http;
        self.process
            .wait_until(
                "/healthz answering",
                Duration::from_secs(30),
                Duration::from_millis(20),
                || async move { http::get(address, "/healthz").await.is_some() },
            )
            .await
    }

    /// Waits until `/readyz` answers 200 (a relay streams, a service reaches its
    /// database and the broker).
    pub async fn wait_ready(&mut self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if !self.process.is_running() {
                return Err(self.process.start_error("it exited"));
            }
            match http::get(self.http, "/readyz").await {
                Some((200, _)) => return Ok(()),
                Some((_, reason)) if Instant::now() > deadline => {
                    return Err(self.process.start_error(format!("not ready: {reason}")));
                }
                None if Instant::now() > deadline => {
                    return Err(self.process.start_error("not answering"));
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The binary running (`cdc-relay`, `order-service`, ...).
    pub fn binary(&self) -> &str {
        &self.binary
    }

    /// The service database it uses.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Where `/metrics`, `/healthz`, `/readyz` are served.
    pub fn http_address(&self) -> SocketAddr {
        self.http
    }

    /// Base URL of its gRPC server (`http://127.0.0.1:PORT`), for a binary in
    /// [`GRPC_SERVERS`].
    ///
    /// # Panics
    /// If this binary serves no gRPC.
    pub fn grpc_url(&self) -> String {
        let address = self
            .grpc_address()
            .unwrap_or_else(|| panic!("{} serves no gRPC", self.binary));
        format!("http://{address}")
    }

    /// Where its gRPC server listens, if it serves gRPC.
    pub fn grpc_address(&self) -> Option<SocketAddr> {
        self.grpc
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The relay's log file.
    pub fn log_path(&self) -> &Path {
        self.process.log_path()
    }

    /// How long ago it was last (re)started.
    pub fn uptime(&self) -> Duration {
        self.process.uptime()
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// The current value of metric `name` (summed over labels), if exposed.
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let (_, body) = http::get(self.http, "/metrics").await?;
        http::metric_value(&body, name)
    }

    /// Base URL of its HTTP server.
    pub fn url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Crashes the process (SIGKILL): no flush, no confirmation.
    pub fn kill9(&mut self) {
        self.process.kill9();
    }

    /// Asks the process to stop (SIGTERM) without waiting for it: what it does while
    /// stopping can be observed, then [`Self::terminate`] waits.
    pub fn request_stop(&self) -> Result<()> {
        self.process.signal(Signal::SIGTERM)
    }

    /// Stops the process with SIGTERM and returns its exit status.
    pub fn terminate(&mut self) -> Option<ExitStatus> {
        self.process
            .stop_with(Signal::SIGTERM, Duration::from_secs(60))
    }

    /// Starts it again with the same settings and port (after a crash or stop).
    pub async fn restart(&mut self) -> Result<()> {
        self.process.respawn()?;
        self.wait_answering().await
    }

    /// Its process, for the supervisor.
    pub(crate) fn process_mut(&mut self) -> &mut ManagedProcess {
        &mut self.process
    }
}

/// Runs `binary` with only `PATH` and `env` in its environment.
fn spawn(
    name: &str,
    binary: PathBuf,
    env: Vec<(String, String)>,
    log: &Path,
) -> Result<ManagedProcess> {
    let path = std::env::var_os("PATH");
    let recipe = move || {
        let mut command = Command::new(&binary);
        command.env_clear();
        if let Some(path) = &path {
            command.env("PATH", path);
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
        command
    };
    ManagedProcess::spawn(name, recipe, log, Signal::SIGTERM)
}
