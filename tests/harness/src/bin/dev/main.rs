//! `cargo dev`: the project's two set-up commands (see README.md).
//!
//! - `cargo dev up`: installs what is missing, starts the whole stack of real parts on
//!   loopback, prints every address, and stops everything on Ctrl-C or SIGTERM.
//! - `cargo dev test`: installs what is missing, then runs formatting and lint checks and
//!   the whole test suite.
//! - `cargo dev load`: places orders at a fixed rate against the stack `up` started,
//!   follows each to its outcome, and fails if the system got any wrong.
//! - `cargo dev screenshot`: starts the stack with Prometheus, places a little load and
//!   takes a headless-Chromium screenshot of the overview console (docs/img/).
#![allow(clippy::print_stdout, reason = "a command-line tool talks on stdout")]

mod load;
mod screenshot;
mod up;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ftgo_harness::{Broker, SHARED_BROKER_ENV, prereqs};

#[derive(Parser)]
#[command(
    name = "cargo dev",
    about = "Run the FTGO system locally, or its tests"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install prerequisites, start the stack, print its addresses, restart any process
    /// that exits (with back-off); Ctrl-C stops it.
    Up {
        /// Print the addresses as one JSON line (for scripts and tests).
        #[arg(long)]
        json: bool,
        /// Where to write the addresses as JSON, for `cargo dev load` [default:
        /// ~/.cache/ftgo/up.json].
        #[arg(long)]
        addresses_file: Option<PathBuf>,
        /// Skip the prerequisite check.
        #[arg(long)]
        no_install: bool,
        /// Skip building the workspace binaries (relay, services).
        #[arg(long)]
        no_build: bool,
    },
    /// Install prerequisites, then run fmt, clippy and the whole test suite.
    Test {
        /// Extra arguments for the test runner (e.g. a filter).
        #[arg(trailing_var_arg = true)]
        args: Vec<String>,
    },
    /// Place orders at a fixed rate against a running stack (the one `cargo dev up`
    /// started, or addresses given), follow each to VALIDATED or REJECTED, print progress
    /// every second and a summary; exit status 1 on any order refused, lost or ended
    /// otherwise than its inputs dictate.
    Load(load::LoadArgs),
    /// Only install what is missing (PostgreSQL 15, Java and Maven, Apache Kafka's jars,
    /// Debezium's, Prometheus, Chromium, curl and jq, kube-apiserver and etcd built from
    /// the Go module proxy).
    Install,
    /// Start the stack with Prometheus, place a little load, and screenshot the overview
    /// console with headless Chromium.
    Screenshot {
        /// Where to write the PNG.
        #[arg(long, default_value = "docs/img/console-overview.png")]
        output: PathBuf,
        /// Skip building the workspace binaries.
        #[arg(long)]
        no_build: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Install => install(),
        Cmd::Up {
            json,
            addresses_file,
            no_install,
            no_build,
        } => {
            if !no_install {
                install()?;
            }
            if !no_build {
                build_binaries()?;
            }
            up::up(
                json,
                &addresses_file.unwrap_or_else(up::default_addresses_file),
            )
        }
        Cmd::Load(args) => load::load(args),
        Cmd::Test { args } => {
            install()?;
            test(&args)
        }
        Cmd::Screenshot { output, no_build } => {
            install()?;
            if !no_build {
                build_binaries()?;
            }
            screenshot::screenshot(&workspace_root().join(&output))?;
            println!("{}", output.display());
            Ok(())
        }
    }
}

/// Builds the relay and the services in this executable's own profile, which is where
/// the harness looks for them (`target/debug` for `cargo dev`, `target/release` for
/// `cargo dev-release`): a release `dev` runs a release stack.
fn build_binaries() -> anyhow::Result<()> {
    let mut args = vec!["build", "--workspace", "--bins", "--locked"];
    // Release builds are the only ones without debug assertions here (Cargo.toml's
    // profiles).
    if !cfg!(debug_assertions) {
        args.push("--release");
    }
    cargo("build the relay and the services", &args)
}

fn install() -> anyhow::Result<()> {
    let started = Instant::now();
    prereqs::ensure_installed(&|line| eprintln!("[install] {line}"))
        .context("installing prerequisites")?;
    prereqs::ensure_kube_apiserver(&|line| eprintln!("[install] {line}"))
        .context("building kube-apiserver and etcd (the tests' Kubernetes API server)")?;
    ftgo_harness::debezium::ensure_installed(&|line| eprintln!("[install] Debezium: {line}"))
        .context("installing Debezium (the differential test's oracle)")?;
    eprintln!(
        "[install] prerequisites checked ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs one cargo step in the workspace root, failing with its name.
fn cargo(what: &str, args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(what, args, &[])
}

/// Like [`cargo`], with extra environment variables.
fn cargo_with_env(what: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("[dev] {what}: cargo {}", args.join(" "));
    let started = Instant::now();
    // Cargo's own output (its progress bar on a terminal) goes straight to ours.
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    eprintln!(
        "[dev] {what}: done ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The Kubernetes packaging checks (tests/charts): Helm's engine, kubernetes-validate,
/// checkov and the Tiltfile, with the Python tools installed once into the cache dir.
fn chart_checks() -> anyhow::Result<()> {
    let tools = prereqs::ensure_chart_tools(&|line| eprintln!("[install] {line}"))
        .context("installing the chart tools")?;
    let script = workspace_root().join("tests/charts/test_chart.py");
    eprintln!(
        "[dev] chart checks: {} -m pytest {}",
        tools.python.display(),
        script.display()
    );
    let status = Command::new(&tools.python)
        .args(["-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"])
        .arg(&script)
        .env("FTGO_CHECKOV", &tools.checkov)
        // No __pycache__ in the checkout.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(workspace_root())
        .status()
        .context("running the chart checks")?;
    if !status.success() {
        bail!("chart checks failed ({status})");
    }
    Ok(())
}

fn test(extra: &[String]) -> anyhow::Result<()> {
    let cargo_bin = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let step = cargo;
    step("format", &["fmt", "--all", "--check"])?;
    step(
        "lint",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    chart_checks()?;
    // The API fuzzing test (tests/e2e fuzz_api) runs schemathesis; install it here, where
    // pip's output is seen, rather than inside the test.
    prereqs::ensure_schemathesis(&|line| eprintln!("[install] {line}"))
        .context("installing schemathesis")?;
    step(
        "build binaries",
        &["build", "--workspace", "--bins", "--locked"],
    )?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (broker, _broker_dir) = runtime.block_on(start_shared_broker())?;
    let bootstrap = broker.bootstrap_servers();
    let env = [(SHARED_BROKER_ENV, bootstrap.as_str())];
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let has_nextest = Command::new(&cargo_bin)
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_nextest {
        let mut args = vec![
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ];
        args.extend(&extra);
        cargo_with_env("tests (nextest)", &args, &env)
    } else {
        let mut args = vec!["test", "--workspace", "--locked", "--no-fail-fast"];
        if !extra.is_empty() {
            args.push("--");
            args.extend(&extra);
        }
        cargo_with_env("tests", &args, &env)
    }
}

/// Starts the Kafka broker that every test of the run shares (a JVM start per test
/// would cost minutes on two cores); each test's stack keeps to its own topics and
/// consumer groups on it. Tests that pause, kill or restart a broker start their own.
async fn start_shared_broker() -> anyhow::Result<(Broker, tempfile::TempDir)> {
    let mut dir = tempfile::Builder::new()
        .prefix("ftgo-test-kafka-")
        .tempdir()
        .context("creating the shared broker's directory")?;
    if std::env::var_os("FTGO_KEEP_STACK_DIR").is_some() {
        dir.disable_cleanup(true);
    }
    eprintln!(
        "[dev] starting the test run's shared Apache Kafka broker in {}",
        dir.path().display()
    );
    let started = Instant::now();
    let broker = Broker::start(dir.path(), dir.path())
        .await
        .context("starting the shared Kafka broker")?;
    eprintln!(
        "[dev] shared broker at {} after {:.1} s",
        broker.bootstrap_servers(),
        started.elapsed().as_secs_f64()
    );
    Ok((broker, dir))
}
