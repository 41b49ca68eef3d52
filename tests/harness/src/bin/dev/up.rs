//! `cargo dev up`: the stack, started part by part with each part's time, supervised
//! until Ctrl-C, its addresses printed and written for `cargo dev load`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use ftgo_harness::supervise::{Backoff, Event};
use ftgo_harness::{Progress, Stack, StackAddresses, StackOptions, prereqs};

/// Where `up` writes the stack's addresses and `load` reads them by default.
pub fn default_addresses_file() -> PathBuf {
    prereqs::cache_dir().join("up.json")
}

/// Starts the stack, prints its addresses (as one JSON line with `json`), writes them to
/// `addresses_file`, and supervises every process until SIGINT or SIGTERM.
pub fn up(json: bool, addresses_file: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        // Its own broker, whatever the environment says: a stack to keep and use.
        let options = StackOptions {
            services: true,
            prometheus: true,
            private_broker: true,
            progress: Progress::new(|line| eprintln!("[up] {line}")),
            ..StackOptions::default()
        };
        let started = Instant::now();
        eprintln!("[up] starting PostgreSQL, Apache Kafka, 3 relays, 3 services, Prometheus");
        let mut stack = Stack::start_with(options)
            .await
            .context("starting the stack")?;
        eprintln!(
            "[up] the stack is up ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        let addresses = stack.addresses();
        write_addresses(&addresses, addresses_file)?;
        if json {
            println!("{}", serde_json::to_string(&addresses)?);
        } else {
            print_addresses(&addresses, addresses_file);
        }
        let report = |event: Event| eprintln!("[supervise] {event}");
        tokio::select! {
            () = stack.supervise(Backoff::default(), report) => {}
            stop = wait_for_stop() => stop?,
        }
        eprintln!("stopping...");
        remove_addresses(&addresses, addresses_file);
        drop(stack);
        eprintln!("stopped");
        Ok(())
    })
}

fn write_addresses(addresses: &StackAddresses, file: &Path) -> anyhow::Result<()> {
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(file, serde_json::to_string_pretty(addresses)?)
        .with_context(|| format!("writing {}", file.display()))
}

/// Removes the addresses file, unless another `up` has written it since.
fn remove_addresses(addresses: &StackAddresses, file: &Path) {
    let ours = std::fs::read_to_string(file)
        .ok()
        .and_then(|text| serde_json::from_str::<StackAddresses>(&text).ok())
        .is_some_and(|written| written.dir == addresses.dir);
    if ours {
        let _ = std::fs::remove_file(file);
    }
}

fn print_addresses(a: &StackAddresses, file: &Path) {
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
    println!("  addresses (JSON)       {}", file.display());
    println!(
        "\n  try: PGPASSFILE={} psql {}",
        a.pgpassfile.display(),
        a.databases[0].1
    );
    println!("       cargo dev load --rate 20/s --duration 30s");
    println!("\n  A process that exits is restarted, with back-off, and reported here.");
}

async fn wait_for_stop() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {},
    }
    Ok(())
}
