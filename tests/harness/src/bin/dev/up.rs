//! `cargo dev up`: the stack, started part by part with each part's time, supervised
//! until Ctrl-C, its addresses printed.

use std::time::Instant;

use anyhow::Context;
use ftgo_harness::supervise::{Backoff, Event};
use ftgo_harness::{Progress, Stack, StackAddresses, StackOptions};

/// Starts the stack, prints its addresses (as one JSON line with `json`), and
/// supervises every process until SIGINT or SIGTERM.
pub fn up(json: bool) -> anyhow::Result<()> {
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
        if json {
            println!("{}", serde_json::to_string(&addresses)?);
        } else {
            print_addresses(&addresses);
        }
        let report = |event: Event| eprintln!("[supervise] {event}");
        tokio::select! {
            () = stack.supervise(Backoff::default(), report) => {}
            stop = wait_for_stop() => stop?,
        }
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
