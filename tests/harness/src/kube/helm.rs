//! Helm's own engine for the tests: `tests/kube/helm_release.py` run with the chart
//! tools' venv (helm-python-sdk wraps Helm v4's Go SDK; no `helm` binary is packaged for
//! these machines). Rendering needs no cluster; install, upgrade, rollback and history
//! act on an [`super::ApiServer`] through its admin kubeconfig.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::{Value, json};

use super::ApiServer;
use crate::error::{Error, IoContext, Result};
use crate::prereqs;

/// The chart of this checkout, `charts/ftgo`.
fn chart_dir() -> PathBuf {
    prereqs::workspace_root().join("charts/ftgo")
}

/// Runs Helm actions for one release of one chart.
#[derive(Debug, Clone)]
pub struct Helm {
    python: PathBuf,
    chart: PathBuf,
    release: String,
    namespace: String,
}

/// What an install or upgrade produced.
#[derive(Debug, Clone, Deserialize)]
pub struct Release {
    /// The release's revision (1 for an install).
    pub revision: u32,
    /// Its status (`deployed` when it worked).
    pub status: String,
    /// Every object of its manifest.
    pub documents: Vec<Value>,
}

/// One entry of a release's history.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Revision {
    /// The revision number.
    pub revision: u32,
    /// `deployed`, `superseded`, `failed`, ...
    pub status: String,
}

impl Helm {
    /// Helm for release `release` of [`chart_dir`] in `namespace`, with the chart tools'
    /// venv (installed on first use, as `cargo dev test` does before the tests).
    pub fn new(release: &str, namespace: &str) -> Result<Self> {
        let tools = prereqs::ensure_chart_tools(&|line| eprintln!("[install] {line}"))?;
        Ok(Self {
            python: tools.python,
            chart: chart_dir(),
            release: release.to_owned(),
            namespace: namespace.to_owned(),
        })
    }

    /// Every object the chart renders with `values` (no cluster involved), as JSON.
    pub fn render(&self, values: &Value) -> Result<Vec<Value>> {
        let answer = self.run(json!({"action": "render", "values": values}), None)?;
        documents(answer)
    }

    /// `helm install` (creating the namespace) into `server`.
    pub fn install(&self, server: &ApiServer, values: &Value) -> Result<Release> {
        let answer = self.run(
            json!({"action": "install", "values": values}),
            Some(server.admin_kubeconfig()),
        )?;
        release("install", answer)
    }

    /// `helm upgrade` with `values` (not reusing the previous ones).
    pub fn upgrade(&self, server: &ApiServer, values: &Value) -> Result<Release> {
        let answer = self.run(
            json!({"action": "upgrade", "values": values}),
            Some(server.admin_kubeconfig()),
        )?;
        release("upgrade", answer)
    }

    /// `helm rollback` to `revision` (which makes a new revision).
    pub fn rollback(&self, server: &ApiServer, revision: u32) -> Result<()> {
        self.run(
            json!({"action": "rollback", "revision": revision}),
            Some(server.admin_kubeconfig()),
        )?;
        Ok(())
    }

    /// `helm history`, oldest first.
    pub fn history(&self, server: &ApiServer) -> Result<Vec<Revision>> {
        let answer = self.run(
            json!({"action": "history"}),
            Some(server.admin_kubeconfig()),
        )?;
        serde_json::from_value(answer["revisions"].clone())
            .map_err(|e| helm_error("history", format!("unexpected answer: {e}")))
    }

    /// Sends one request to the script; its answer, or Helm's error.
    fn run(&self, mut request: Value, kubeconfig: Option<&Path>) -> Result<Value> {
        let action = request["action"].as_str().unwrap_or_default().to_owned();
        request["chart"] = json!(self.chart);
        request["release"] = json!(self.release);
        request["namespace"] = json!(self.namespace);
        if let Some(kubeconfig) = kubeconfig {
            request["kubeconfig"] = json!(kubeconfig);
        }
        let script = prereqs::workspace_root().join("tests/kube/helm_release.py");
        let mut child = Command::new(&self.python)
            .arg(&script)
            // No __pycache__ in the checkout.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context(|| format!("run {} {}", self.python.display(), script.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(request.to_string().as_bytes())
                .context(|| "write the Helm request".into())?;
        }
        let output = child
            .wait_with_output()
            .context(|| "wait for the Helm script".into())?;
        if !output.status.success() {
            return Err(helm_error(
                &action,
                String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            ));
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|e| helm_error(&action, format!("unexpected answer: {e}")))
    }
}

fn documents(mut answer: Value) -> Result<Vec<Value>> {
    match answer["documents"].take() {
        Value::Array(documents) => Ok(documents),
        other => Err(helm_error("render", format!("no documents: {other}"))),
    }
}

fn release(action: &str, answer: Value) -> Result<Release> {
    serde_json::from_value(answer)
        .map_err(|e| helm_error(action, format!("unexpected answer: {e}")))
}

fn helm_error(action: &str, message: String) -> Error {
    Error::Helm {
        action: action.to_owned(),
        message,
    }
}
