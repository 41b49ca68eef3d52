//! `cargo dev`: the project's two set-up commands (see README.md).
//!
//! - `cargo dev up`: installs what is missing, starts the whole stack of real parts on
//!   loopback, prints every address, and stops everything on Ctrl-C or SIGTERM.
//! - `cargo dev test`: installs what is missing, then runs formatting and lint checks and
//!   the whole test suite.
#![allow(clippy::print_stdout, reason = "a command-line tool talks on stdout")]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use ftgo_harness::{Stack, StackAddresses, StackOptions, prereqs};

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
    /// Only install what is missing (PostgreSQL 15, tansu).
    Install,
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
                cargo(
                    "build the relay and the services",
                    &["build", "--workspace", "--bins", "--locked"],
                )?;
            }
            up(json)
        }
        Cmd::Test { args } => {
            install()?;
            test(&args)
        }
    }
}

fn install() -> anyhow::Result<()> {
    prereqs::ensure_installed(&|line| eprintln!("[install] {line}"))
        .context("installing prerequisites")
}

fn up(json: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let options = StackOptions {
            services: true,
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
    println!("  CDC relays (metrics)");
    for (service, url) in &a.relays {
        println!("    {service:<20} {url}");
    }
    println!("  logs                   {}", a.logs.display());
    println!(
        "\n  try: PGPASSFILE={} psql {}",
        a.pgpassfile.display(),
        a.databases[0].1
    );
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
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("[dev] {what}: cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
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
        step("tests (nextest)", &args)
    } else {
        let mut args = vec!["test", "--workspace", "--locked", "--no-fail-fast"];
        if !extra.is_empty() {
            args.push("--");
            args.extend(&extra);
        }
        step("tests", &args)
    }
}
