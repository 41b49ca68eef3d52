//! `cargo dev`: the project's two set-up commands (see README.md).
//!
//! - `cargo dev up`: installs what is missing, starts the whole stack of real parts on
//!   loopback, prints every address, and stops everything on Ctrl-C or SIGTERM.
//! - `cargo dev test`: installs what is missing, then runs formatting and lint checks and
//!   the whole test suite.
//! - `cargo dev screenshot`: starts the stack with Prometheus, places a little load and
//!   takes a headless-Chromium screenshot of the overview console (docs/img/).
#![allow(clippy::print_stdout, reason = "a command-line tool talks on stdout")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ftgo_harness::{
    Broker, SHARED_BROKER_ENV, Stack, StackAddresses, StackOptions, chromium, load, prereqs,
};

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
    /// Install prerequisites, start the stack, print its addresses; Ctrl-C stops it.
    Up {
        /// Print the addresses as one JSON line (for scripts and tests).
        #[arg(long)]
        json: bool,
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
    /// Only install what is missing (PostgreSQL 15, Java and Maven, Apache Kafka's jars,
    /// Debezium's, Prometheus, Chromium).
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
            no_install,
            no_build,
        } => {
            if !no_install {
                install()?;
            }
            if !no_build {
                build_binaries()?;
            }
            up(json)
        }
        Cmd::Test { args } => {
            install()?;
            test(&args)
        }
        Cmd::Screenshot { output, no_build } => {
            install()?;
            if !no_build {
                build_binaries()?;
            }
            screenshot(&output)
        }
    }
}

fn build_binaries() -> anyhow::Result<()> {
    cargo(
        "build the relay and the services",
        &["build", "--workspace", "--bins", "--locked"],
    )
}

fn install() -> anyhow::Result<()> {
    prereqs::ensure_installed(&|line| eprintln!("[install] {line}"))
        .context("installing prerequisites")?;
    prereqs::ensure_kube_apiserver(&|line| eprintln!("[install] {line}"))
        .context("building kube-apiserver and etcd (the tests' Kubernetes API server)")?;
    ftgo_harness::debezium::ensure_installed(&|line| eprintln!("[install] Debezium: {line}"))
        .context("installing Debezium (the differential test's oracle)")
}

fn up(json: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        // Its own broker, whatever the environment says: a stack to keep and use.
        let options = StackOptions {
            services: true,
            prometheus: true,
            private_broker: true,
            ..StackOptions::default()
        };
        let stack = Stack::start_with(options)
            .await
            .context("starting the stack")?;
        let addresses = stack.addresses();
        if json {
            println!("{}", serde_json::to_string(&addresses)?);
        } else {
            print_addresses(&addresses);
        }
        wait_for_stop().await?;
        eprintln!("stopping...");
        drop(stack);
        eprintln!("stopped");
        Ok(())
    })
}

fn print_addresses(a: &StackAddresses) {
    println!("FTGO stack is up. Ctrl-C stops everything.\n");
    println!(
        "  PostgreSQL (passwords in PGPASSFILE={})",
        a.pgpassfile.display()
    );
    for (service, url) in &a.databases {
        println!("    {service:<20} {url}");
    }
    println!("  Kafka bootstrap        {}", a.kafka_bootstrap);
    println!("  Services (API, /openapi.json, /metrics)");
    for (service, url) in &a.services {
        println!("    {service:<20} {url}");
    }
    println!("  gRPC (ftgo.consumer.v1.ConsumerService)");
    for (service, url) in &a.grpc {
        println!("    {service:<20} {url}");
    }
    println!("  CDC relays (metrics)");
    for (service, url) in &a.relays {
        println!("    {service:<20} {url}");
    }
    if let (Some(prometheus), Some(console)) = (&a.prometheus, &a.console) {
        println!("  Prometheus             {prometheus}");
        println!("    overview console     {console}");
    }
    println!("  logs                   {}", a.logs.display());
    println!(
        "\n  try: PGPASSFILE={} psql {}",
        a.pgpassfile.display(),
        a.databases[0].1
    );
}

/// Orders placed for the screenshot (one in 20 rejected), and their spacing: about a
/// minute of load, so the rates are not zero and the graphs have a shape.
const SCREENSHOT_ORDERS: usize = 120;
const SCREENSHOT_REJECTED: usize = 6;
const SCREENSHOT_PAUSE: Duration = Duration::from_millis(500);

/// Writes the screenshot to `output` (relative to the workspace root).
fn screenshot(output: &Path) -> anyhow::Result<()> {
    let path = workspace_root().join(output);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut stack = Stack::start_with(StackOptions {
            prometheus: true,
            private_broker: true,
            ..StackOptions::default()
        })
        .await
        .context("starting the stack")?;
        eprintln!(
            "[dev] placing {SCREENSHOT_ORDERS} orders ({SCREENSHOT_REJECTED} to be rejected) \
             over ~1 minute"
        );
        let placed = load::place_orders(
            &mut stack,
            SCREENSHOT_ORDERS - SCREENSHOT_REJECTED,
            SCREENSHOT_REJECTED,
            SCREENSHOT_PAUSE,
        )
        .await
        .context("placing orders")?;
        // Wait until Prometheus has scraped every outcome and the consumers have caught
        // up, so the page shows all orders.
        let expr = format!(
            "sum(ftgo_orders_total{{outcome=~\"validated|rejected\"}}) >= {} \
             and on() sum(ftgo_consumer_lag_messages) == 0",
            placed.valid.len() + placed.rejected.len()
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while stack
            .prometheus()
            .query(&expr)
            .await
            .is_none_or(|r| r.is_empty())
        {
            if Instant::now() > deadline {
                bail!("Prometheus did not see every order handled within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let url = stack.prometheus().console_url();
        chromium::screenshot(&url, &path, 1280, 1260)
            .await
            .context("taking the screenshot")?;
        println!("{}", output.display());
        Ok(())
    })
}

async fn wait_for_stop() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {},
    }
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
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(workspace_root())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
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
