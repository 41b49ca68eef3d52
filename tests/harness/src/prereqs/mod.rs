//! Finding, and where missing installing, what the stack runs: PostgreSQL's server
//! binaries, Apache Kafka (a Java runtime, Maven, and the broker's jars from Maven
//! Central), Prometheus (with promtool) and Chromium (headless, for the dashboard checks
//! and screenshot); the Python tools the checks run (chart tools, schemathesis); and a
//! Kubernetes API server for the Kubernetes tests (kube-apiserver and etcd built from the
//! Go module proxy, [`kube`]).
//!
//! Idempotent: a second run finds everything and does nothing. Kafka's jars are resolved
//! once per machine into a cache directory outside the checkout (and kube-apiserver built
//! there), so a fresh clone or `cargo clean` does not fetch them again.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

pub mod java;
pub mod kube;

pub use self::kube::{KubeTools, ensure_kube_apiserver, kube_tools};

/// The Apache Kafka release the stack runs (`tests/kafka/pom.xml` names the same).
pub const KAFKA_VERSION: &str = "4.4.0";

/// The PostgreSQL major version the stack is tested with.
pub const POSTGRES_MAJOR: u32 = 15;

/// Where built tools are cached: `$FTGO_CACHE_DIR`, else `$XDG_CACHE_HOME/ftgo`, else
/// `~/.cache/ftgo`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FTGO_CACHE_DIR") {
        return dir.into();
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("ftgo")
}

/// Where Apache Kafka lives once installed: `<cache>/kafka-<version>`.
pub fn kafka_home() -> PathBuf {
    cache_dir().join(format!("kafka-{KAFKA_VERSION}"))
}

/// The broker's jars, resolved from Maven Central by `tests/kafka/pom.xml`.
pub fn kafka_libs() -> PathBuf {
    kafka_home().join("libs")
}

/// An empty KRaft log directory formatted by Kafka's StorageTool; every broker's storage
/// starts as a copy of it.
pub fn kafka_storage_template() -> PathBuf {
    kafka_home().join("storage-template")
}

/// What the benchmarks' reports name as the broker: "Apache Kafka 4.4.0 (KRaft, one
/// node) on <java -version's first line>".
pub fn kafka_description() -> String {
    let java = Command::new(java::java_bin())
        .arg("-version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "an unknown Java".into());
    format!("Apache Kafka {KAFKA_VERSION} (KRaft, one node) on {java}")
}

/// The checkout this harness was built from (poms and other files the installs read).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory holding `initdb`, `postgres`, `pg_ctl`, `pg_recvlogical`, `pgbench`:
/// `$FTGO_PG_BINDIR`, else Debian's `/usr/lib/postgresql/15/bin`.
pub fn postgres_bin_dir() -> Result<PathBuf> {
    let dir = std::env::var_os("FTGO_PG_BINDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/usr/lib/postgresql/{POSTGRES_MAJOR}/bin")));
    if dir.join("postgres").is_file() && dir.join("initdb").is_file() {
        Ok(dir)
    } else {
        Err(Error::Prerequisite {
            what: "PostgreSQL",
            reason: format!(
                "no initdb/postgres in {} (run `cargo dev install`, or set FTGO_PG_BINDIR)",
                dir.display()
            ),
        })
    }
}

/// A Debian-packaged executable: `$<env>` if set, else `default`.
fn debian_tool(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// The Prometheus server: `$FTGO_PROMETHEUS_BIN`, else Debian's `/usr/bin/prometheus`.
pub fn prometheus_bin() -> PathBuf {
    debian_tool("FTGO_PROMETHEUS_BIN", "/usr/bin/prometheus")
}

/// Prometheus's rule checker: `$FTGO_PROMTOOL_BIN`, else Debian's `/usr/bin/promtool`.
pub fn promtool_bin() -> PathBuf {
    debian_tool("FTGO_PROMTOOL_BIN", "/usr/bin/promtool")
}

/// Chromium: `$FTGO_CHROMIUM_BIN`, else Debian's `/usr/bin/chromium`.
pub fn chromium_bin() -> PathBuf {
    debian_tool("FTGO_CHROMIUM_BIN", "/usr/bin/chromium")
}

/// Makes sure PostgreSQL, Apache Kafka, Prometheus and Chromium are present, installing what is
/// missing. `progress` receives one line per step.
pub fn ensure_installed(progress: &dyn Fn(&str)) -> Result<()> {
    let mut packages = Vec::new();
    if postgres_bin_dir().is_ok() {
        progress(&format!("PostgreSQL {POSTGRES_MAJOR}: present"));
    } else {
        packages.push(format!("postgresql-{POSTGRES_MAJOR}"));
        packages.push(format!("postgresql-client-{POSTGRES_MAJOR}"));
    }
    // Debian's prometheus package brings promtool.
    if prometheus_bin().is_file() && promtool_bin().is_file() {
        progress("Prometheus and promtool: present");
    } else {
        packages.push("prometheus".to_owned());
    }
    if chromium_bin().is_file() {
        progress("Chromium: present");
    } else {
        packages.push("chromium".to_owned());
    }
    // The README's walk-through (and its test) is a curl and jq script.
    for tool in ["curl", "jq"] {
        if !Path::new("/usr/bin").join(tool).is_file() {
            packages.push(tool.to_owned());
        }
    }
    apt_install(progress, &packages)?;
    postgres_bin_dir()?;
    for (what, bin) in [
        ("Prometheus", prometheus_bin()),
        ("promtool", promtool_bin()),
        ("Chromium", chromium_bin()),
    ] {
        if !bin.is_file() {
            return Err(Error::Prerequisite {
                what,
                reason: format!("{} is missing after installing", bin.display()),
            });
        }
    }
    ensure_kafka(progress)
}

/// Installs Debian `packages` (nothing if empty), with one `apt-get update` first.
pub(crate) fn apt_install(progress: &dyn Fn(&str), packages: &[String]) -> Result<()> {
    if packages.is_empty() {
        return Ok(());
    }
    progress(&format!(
        "missing, installing from Debian: apt-get install {}",
        packages.join(" ")
    ));
    let sudo = !nix::unistd::geteuid().is_root();
    run("apt-get update", apt(sudo, &["update", "-q"]))?;
    let mut install = apt(sudo, &["install", "-y", "-q", "--no-install-recommends"]);
    install.args(packages);
    install.env("DEBIAN_FRONTEND", "noninteractive");
    run("apt-get install", install)
}

fn apt(sudo: bool, args: &[&str]) -> Command {
    let mut command = if sudo {
        let mut c = Command::new("sudo");
        c.arg("apt-get");
        c
    } else {
        Command::new("apt-get")
    };
    command.args(args);
    command
}

/// Makes sure Apache Kafka can run: a Java runtime and Maven (from Debian when missing),
/// the broker's jars resolved from Maven Central, and the formatted storage template.
fn ensure_kafka(progress: &dyn Fn(&str)) -> Result<()> {
    java::ensure_java_and_maven(progress)?;
    java::resolve_maven(
        "Apache Kafka",
        &workspace_root().join("tests/kafka/pom.xml"),
        &kafka_libs(),
        progress,
    )?;
    crate::broker::format_storage_template(progress)
}

/// The PyPI packages the chart checks (`tests/charts`) run with, in the chart-tools venv.
pub const CHART_TOOLS: &[&str] = &["helm-python-sdk==0.2.2", "kubernetes-validate", "pytest"];

/// checkov, in a venv of its own: it pins `packaging` older than pytest accepts.
pub const CHECKOV: &str = "checkov";

/// The Python tools of the chart checks, installed by [`ensure_chart_tools`].
#[derive(Debug, Clone)]
pub struct ChartTools {
    /// Python of the venv with helm-python-sdk, kubernetes-validate and pytest.
    pub python: PathBuf,
    /// The checkov executable.
    pub checkov: PathBuf,
}

/// Makes sure the chart checks' Python tools are installed: venvs under
/// [`cache_dir`]`/chart-tools` (helm-python-sdk, kubernetes-validate, pytest) and
/// `/checkov`, made with `python3 -m venv` and pip. A venv counts as installed once its
/// `installed` marker names the same packages, so an interrupted install is redone.
pub fn ensure_chart_tools(progress: &dyn Fn(&str)) -> Result<ChartTools> {
    let tools = cache_dir().join("chart-tools");
    let checkov = cache_dir().join("checkov");
    ensure_venv(progress, &tools, CHART_TOOLS)?;
    ensure_venv(progress, &checkov, &[CHECKOV])?;
    Ok(ChartTools {
        python: tools.join("bin").join("python"),
        checkov: checkov.join("bin").join("checkov"),
    })
}

/// The schemathesis release the API fuzzing (`tests/e2e`, fuzz_api) runs with.
pub const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// Makes sure schemathesis is installed, in a venv of its own under
/// [`cache_dir`]`/schemathesis`, and returns its executable. `$FTGO_SCHEMATHESIS` names
/// another executable instead.
pub fn ensure_schemathesis(progress: &dyn Fn(&str)) -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("FTGO_SCHEMATHESIS") {
        return Ok(bin.into());
    }
    let dir = cache_dir().join("schemathesis");
    ensure_venv(progress, &dir, &[SCHEMATHESIS])?;
    Ok(dir.join("bin").join("schemathesis"))
}

fn ensure_venv(progress: &dyn Fn(&str), dir: &Path, packages: &[&str]) -> Result<()> {
    let marker = dir.join("installed");
    let wanted = packages.join(" ");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m.trim() == wanted) {
        progress(&format!("{wanted}: present in {}", dir.display()));
        return Ok(());
    }
    progress(&format!(
        "{wanted}: missing, installing into {} (python3 -m venv, pip; about a minute)",
        dir.display()
    ));
    // A venv cannot be moved (its scripts name their path), so start from scratch and
    // write the marker last.
    let _ = std::fs::remove_dir_all(dir);
    let mut venv = Command::new("python3");
    venv.args(["-m", "venv"]).arg(dir);
    run(
        "python3 -m venv (Debian: apt-get install python3-venv)",
        venv,
    )?;
    let mut pip = Command::new(dir.join("bin").join("pip"));
    pip.args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
    ])
    .args(packages);
    run("pip install", pip)?;
    std::fs::write(&marker, &wanted).map_err(|e| Error::Prerequisite {
        what: "python tools",
        reason: format!("write {}: {e}", marker.display()),
    })?;
    progress(&format!("{wanted}: installed"));
    Ok(())
}

pub(crate) fn run(what: &'static str, mut command: Command) -> Result<()> {
    let status = command.status().map_err(|e| Error::Prerequisite {
        what,
        reason: e.to_string(),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Prerequisite {
            what,
            reason: format!("exited with {status}"),
        })
    }
}
