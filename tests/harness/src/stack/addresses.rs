//! Where everything of a running stack is, as `cargo dev up` prints it and writes it for
//! `cargo dev load` and scripts.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Stack;
use crate::prometheus::Prometheus;

/// What `cargo dev up` prints: where everything is. Holds no secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackAddresses {
    /// The stack's private directory.
    pub dir: PathBuf,
    /// Where every process's log is.
    pub logs: PathBuf,
    /// `PGPASSFILE` holding the service roles' passwords, for psql.
    pub pgpassfile: PathBuf,
    /// Service name -> connection URL (no password).
    pub databases: Vec<(String, String)>,
    /// Service name -> its relay's `/metrics` URL.
    pub relays: Vec<(String, String)>,
    /// Service binary -> its base URL (API, `/openapi.json`, `/metrics`).
    pub services: Vec<(String, String)>,
    /// Service binary -> its gRPC server's URL (consumer-service).
    pub grpc: Vec<(String, String)>,
    /// `bootstrap.servers` of the broker.
    pub kafka_bootstrap: String,
    /// Put before every topic and consumer-group id of the stack (empty on a broker of
    /// its own, as `cargo dev up` runs).
    pub kafka_topic_prefix: String,
    /// Prometheus's URL, if started.
    pub prometheus: Option<String>,
    /// The FTGO overview console's URL, if Prometheus was started.
    pub console: Option<String>,
    /// Pid of every server process.
    pub pids: Vec<u32>,
}

impl Stack {
    /// Where everything is (no secrets).
    pub fn addresses(&self) -> StackAddresses {
        StackAddresses {
            dir: self.dir().to_owned(),
            logs: self.logs.clone(),
            pgpassfile: self.pgpass_path(),
            databases: self
                .databases
                .iter()
                .map(|db| (db.name.clone(), db.url_without_password()))
                .collect(),
            relays: self
                .relays
                .iter()
                .map(|r| {
                    (
                        r.service().to_owned(),
                        format!("http://{}/metrics", r.http_address()),
                    )
                })
                .collect(),
            services: self
                .services
                .iter()
                .map(|s| (s.binary().to_owned(), s.url()))
                .collect(),
            grpc: self
                .services
                .iter()
                .filter_map(|s| {
                    Some((
                        s.binary().to_owned(),
                        format!("http://{}", s.grpc_address()?),
                    ))
                })
                .collect(),
            kafka_bootstrap: self.broker.bootstrap_servers(),
            kafka_topic_prefix: self.topic_prefix.clone(),
            prometheus: self.prometheus.as_ref().map(Prometheus::url),
            console: self.prometheus.as_ref().map(Prometheus::console_url),
            pids: self.server_pids(),
        }
    }
}
