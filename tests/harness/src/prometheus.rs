//! A Prometheus server scraping every service and relay of the stack, with the
//! repository's alert rules and console dashboards (see [`crate::monitoring`]).
//!
//! Debian's `prometheus` package (installed by [`crate::prereqs`]); the configuration is
//! generated into the stack's directory with static targets, a 1 s scrape and evaluation
//! interval (so dashboards and alerts follow a test within seconds), and its TSDB lives
//! there too.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use serde_json::{Value, json};

use crate::error::{Error, IoContext, Result};
use crate::http;
use crate::monitoring;
use crate::ports::{free_port, retry_on_lost_port};
use crate::prereqs::prometheus_bin;
use crate::process::ManagedProcess;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// One `/metrics` endpoint to scrape.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    /// Scrape job: `ftgo-services` or `ftgo-relays`.
    pub job: &'static str,
    /// The `service` label (as the Kubernetes Service name would set it without the
    /// release prefix): `order-service`, `order-service-relay`, ...
    pub service: String,
    /// `host:port` serving `/metrics`.
    pub address: SocketAddr,
}

/// A running Prometheus.
#[derive(Debug)]
pub struct Prometheus {
    process: ManagedProcess,
    address: SocketAddr,
}

impl Prometheus {
    /// Writes `prometheus.yml` into `dir` and starts Prometheus on a free loopback port,
    /// logging to `logs/prometheus.log`; returns once it has scraped every target
    /// successfully, so counters it reports later start from values before any load
    /// (a rate needs the counter's earlier value).
    pub async fn start(dir: &Path, logs: &Path, targets: &[ScrapeTarget]) -> Result<Self> {
        let bin = prometheus_bin();
        if !bin.is_file() {
            return Err(Error::Prerequisite {
                what: "Prometheus",
                reason: format!("{} is missing (run `cargo dev install`)", bin.display()),
            });
        }
        let root = dir.join("prometheus");
        std::fs::create_dir_all(&root).context(|| "create prometheus directory".into())?;
        let config = root.join("prometheus.yml");
        // JSON is YAML: serde_json writes the file, quoting every string correctly.
        std::fs::write(&config, config_document(targets).to_string())
            .context(|| "write prometheus.yml".into())?;
        let log = logs.join("prometheus.log");
        let mut prometheus = retry_on_lost_port(&log, async |_| {
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
            let recipe = {
                let (bin, config, data) = (bin.clone(), config.clone(), root.join("data"));
                move || {
                    let mut command = Command::new(&bin);
                    command
                        .arg(format!("--config.file={}", config.display()))
                        .arg(format!("--storage.tsdb.path={}", data.display()))
                        .arg(format!("--web.listen-address={address}"))
                        .arg(format!(
                            "--web.console.templates={}",
                            monitoring::consoles_dir().display()
                        ))
                        .arg(format!(
                            "--web.console.libraries={}",
                            monitoring::console_libraries_dir().display()
                        ));
                    command
                }
            };
            let process = ManagedProcess::spawn("prometheus", recipe, &log, Signal::SIGTERM)?;
            let mut prometheus = Self { process, address };
            prometheus.wait_ready().await?;
            Ok(prometheus)
        })
        .await?;
        prometheus.wait_scraped(targets.len()).await?;
        Ok(prometheus)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let address = self.address;
        self.process
            .wait_until(
                "/-/ready 200",
                STARTUP_TIMEOUT,
                Duration::from_millis(50),
                || async move { matches!(http::get(address, "/-/ready").await, Some((200, _))) },
            )
            .await
    }

    async fn wait_scraped(&mut self, targets: usize) -> Result<()> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let expr = format!("count(up == 1) == {targets}");
        loop {
            if self.query(&expr).await.is_some_and(|r| !r.is_empty()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.process.start_error(format!(
                    "not every one of the {targets} targets scraped within 60 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Base URL (web UI, HTTP API, consoles).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// URL of the FTGO overview console.
    pub fn console_url(&self) -> String {
        format!("{}{}", self.url(), monitoring::OVERVIEW_CONSOLE)
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Its process, for the supervisor.
    pub(crate) fn process_mut(&mut self) -> &mut ManagedProcess {
        &mut self.process
    }

    /// Evaluates `expr` now (`/api/v1/query`); returns `data.result` (a JSON array of
    /// samples), or `None` if Prometheus did not answer with success.
    pub async fn query(&self, expr: &str) -> Option<Vec<Value>> {
        let path = format!("/api/v1/query?query={}", http::percent_encode(expr));
        let (status, body) = http::get(self.address, &path).await?;
        let answer: Value = serde_json::from_str(&body).ok()?;
        if status != 200 || answer["status"] != "success" {
            return None;
        }
        answer["data"]["result"].as_array().cloned()
    }

    /// GETs `path` (e.g. a console page); returns status and body.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        http::get(self.address, path).await
    }
}

fn config_document(targets: &[ScrapeTarget]) -> Value {
    let mut jobs: Vec<&'static str> = targets.iter().map(|t| t.job).collect();
    jobs.dedup();
    let scrape_configs: Vec<Value> = jobs
        .iter()
        .map(|job| {
            let static_configs: Vec<Value> = targets
                .iter()
                .filter(|t| t.job == *job)
                .map(|t| {
                    json!({
                        "targets": [t.address.to_string()],
                        "labels": { "service": t.service },
                    })
                })
                .collect();
            json!({ "job_name": job, "static_configs": static_configs })
        })
        .collect();
    json!({
        "global": { "scrape_interval": "1s", "evaluation_interval": "1s" },
        "rule_files": [monitoring::alert_rules().display().to_string()],
        "scrape_configs": scrape_configs,
    })
}
