//! A private PostgreSQL 15 cluster with `wal_level=logical` (or `replica`, on request).
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then initdb and the server run
//! as the `postgres` user, in directories that user owns. TCP logins use
//! scram-sha-256 passwords, as a real deployment would, so the services' secret handling
//! is exercised for real.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::{Gid, Uid, User};
use tokio_postgres::NoTls;

use crate::error::{Error, IoContext, Result};
use crate::measure::children_of;
use crate::ports::{free_port, retry_on_lost_port};
use crate::prereqs::postgres_bin_dir;
use crate::process::ManagedProcess;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Connection details of one service's database and its owning role.
#[derive(Debug, Clone)]
pub struct ServiceDatabase {
    /// Database name, also the name of its owning role.
    pub name: String,
    /// Host of the server (loopback).
    pub host: String,
    /// TCP port of the server.
    pub port: u16,
    /// Role owning the database; it may replicate, so the relay can log in as it.
    pub user: String,
    /// The role's password: a secret, never to be printed.
    pub password: String,
}

impl ServiceDatabase {
    /// A `tokio-postgres` configuration logging in as the service role.
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.host)
            .port(self.port)
            .user(&self.user)
            .password(&self.password)
            .dbname(&self.name);
        config
    }

    /// A connection URL without the password (safe to print).
    pub fn url_without_password(&self) -> String {
        format!(
            "postgresql://{}@{}:{}/{}",
            self.user, self.host, self.port, self.name
        )
    }

    /// Opens one connection as the service role, driving it on a background task.
    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        connect(&self.config()).await
    }
}

/// Opens a connection and spawns its driver task.
pub(crate) async fn connect(config: &tokio_postgres::Config) -> Result<tokio_postgres::Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// A running PostgreSQL server in a private directory.
#[derive(Debug)]
pub struct Postgres {
    process: ManagedProcess,
    bin_dir: PathBuf,
    log: PathBuf,
    port: u16,
    superuser_password: String,
}

/// Server settings a stack chooses.
#[derive(Debug, Clone, Copy)]
struct Tuning {
    fsync: bool,
    logical_replication: bool,
}

impl Postgres {
    /// Initialises a cluster under `root` and starts it. `fsync` off makes tests faster;
    /// benchmarks turn it on to measure what production would see. Without
    /// `logical_replication` the server runs with `wal_level=replica`, as a managed
    /// database without logical decoding would (the relay's polling mode).
    pub async fn start(
        root: &Path,
        logs: &Path,
        fsync: bool,
        logical_replication: bool,
    ) -> Result<Self> {
        let tuning = Tuning {
            fsync,
            logical_replication,
        };
        let bin_dir = postgres_bin_dir()?;
        let run_as =
            if nix::unistd::geteuid().is_root() {
                let user = User::from_name("postgres").ok().flatten().ok_or_else(|| {
                    Error::Prerequisite {
                        what: "PostgreSQL",
                        reason: "running as root needs the `postgres` user to run the server as"
                            .into(),
                    }
                })?;
                Some((user.uid, user.gid))
            } else {
                None
            };
        let data_dir = root.join("pgdata");
        let socket_dir = root.join("pgsocket");
        for dir in [&data_dir, &socket_dir] {
            std::fs::create_dir_all(dir).context(|| format!("create {}", dir.display()))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .context(|| format!("chmod {}", dir.display()))?;
        }
        let superuser_password = uuid::Uuid::new_v4().simple().to_string();
        let pwfile = root.join("pgpass.initdb");
        std::fs::write(&pwfile, &superuser_password).context(|| "write initdb pwfile".into())?;
        if let Some((uid, gid)) = run_as {
            for path in [root, &data_dir, &socket_dir, &pwfile] {
                std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw()))
                    .context(|| format!("chown {} to postgres", path.display()))?;
            }
        }
        let log = logs.join("postgres.log");
        let initdb = {
            let (bin_dir, data_dir, pwfile) = (bin_dir.clone(), data_dir.clone(), pwfile.clone());
            move || {
                let mut initdb = Command::new(bin_dir.join("initdb"));
                initdb
                    .arg("-D")
                    .arg(&data_dir)
                    .args([
                        "-U",
                        "postgres",
                        "-E",
                        "UTF8",
                        "--no-sync",
                        "--no-instructions",
                    ])
                    .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
                    .arg(format!("--pwfile={}", pwfile.display()));
                run_as_owner(&mut initdb, run_as);
                initdb
            }
        };
        let initdb_log = logs.join("initdb.log");
        let mut process = ManagedProcess::spawn("initdb", initdb, &initdb_log, Signal::SIGTERM)?;
        let status = loop {
            if let Some(status) = process.exit_status() {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let _ = std::fs::remove_file(&pwfile);
        if !status.success() {
            return Err(process.start_error(format!("initdb exited with {status}")));
        }
        drop(process);

        retry_on_lost_port(&log, async |_| {
            let port = free_port()?;
            let mut postgres = Self {
                process: spawn_server(
                    Server {
                        bin_dir: bin_dir.clone(),
                        data_dir: data_dir.clone(),
                        socket_dir: socket_dir.clone(),
                        port,
                        run_as,
                        tuning,
                    },
                    &log,
                )?,
                bin_dir: bin_dir.clone(),
                log: log.clone(),
                port,
                superuser_password: superuser_password.clone(),
            };
            postgres.wait_ready().await?;
            Ok(postgres)
        })
        .await
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let config = self.superuser_config("postgres");
        self.process
            .wait_until(
                "a connection",
                STARTUP_TIMEOUT,
                Duration::from_millis(50),
                || {
                    let config = config.clone();
                    async move { connect(&config).await.is_ok() }
                },
            )
            .await
    }

    /// TCP port of the server.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Process id of the postmaster.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Directory of the server binaries (for `pg_recvlogical`, `pgbench`, `psql`).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The server log.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The superuser's password (a secret: do not print it).
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// Connection settings of the superuser for `dbname`.
    pub fn superuser_config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user("postgres")
            .password(&self.superuser_password)
            .dbname(dbname)
            .connect_timeout(Duration::from_secs(2));
        config
    }

    /// A superuser connection to `dbname`.
    pub async fn superuser(&self, dbname: &str) -> Result<tokio_postgres::Client> {
        connect(&self.superuser_config(dbname)).await
    }

    /// Creates a database owned by a new login role of the same name with a random
    /// password. The role may replicate, so that database's relay can log in as it.
    pub async fn create_service_database(&self, name: &str) -> Result<ServiceDatabase> {
        let password = uuid::Uuid::new_v4().simple().to_string();
        let admin = self.superuser("postgres").await?;
        // Identifiers cannot be bound as parameters; `name` comes from our own code.
        admin
            .batch_execute(&format!(
                "CREATE ROLE {name} LOGIN REPLICATION PASSWORD '{password}'"
            ))
            .await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name} OWNER {name}"))
            .await?;
        Ok(ServiceDatabase {
            name: name.to_owned(),
            host: "127.0.0.1".into(),
            port: self.port,
            user: name.to_owned(),
            password,
        })
    }

    /// Stops the server (fast shutdown) and starts it again on the same port and data,
    /// as a database restart during an incident would.
    pub async fn restart(&mut self) -> Result<()> {
        self.process.respawn()?;
        self.wait_ready().await
    }

    /// The postmaster's process, for the supervisor.
    pub(crate) fn process_mut(&mut self) -> &mut ManagedProcess {
        &mut self.process
    }

    /// Pids of the postmaster and all its children (backends, WAL sender, ...).
    pub fn process_tree(&self) -> Vec<u32> {
        let root = self.pid();
        let mut pids = vec![root];
        pids.extend(children_of(root));
        pids
    }
}

/// What the server runs with: the same on every (re)start.
#[derive(Debug, Clone)]
struct Server {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    run_as: Option<(Uid, Gid)>,
    tuning: Tuning,
}

fn spawn_server(server: Server, log: &Path) -> Result<ManagedProcess> {
    let recipe = move || {
        let wal_level = if server.tuning.logical_replication {
            "logical"
        } else {
            "replica"
        };
        let fsync = if server.tuning.fsync { "on" } else { "off" };
        let mut command = Command::new(server.bin_dir.join("postgres"));
        command
            .arg("-D")
            .arg(&server.data_dir)
            .args(["-p", &server.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                server.socket_dir.display()
            ))
            .args(["-c", &format!("wal_level={wal_level}")])
            .args(["-c", "max_replication_slots=20", "-c", "max_wal_senders=20"])
            .args(["-c", "max_connections=200"])
            .args(["-c", &format!("fsync={fsync}")])
            .args(["-c", "log_min_messages=warning"]);
        run_as_owner(&mut command, server.run_as);
        command
    };
    // SIGINT is PostgreSQL's fast shutdown: roll back sessions, checkpoint, exit.
    ManagedProcess::spawn("postgres", recipe, log, Signal::SIGINT)
}

fn run_as_owner(command: &mut Command, run_as: Option<(Uid, Gid)>) {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = run_as {
        command.uid(uid.as_raw()).gid(gid.as_raw());
    }
}
