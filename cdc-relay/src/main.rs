//! `cdc-relay`: see the crate documentation.

use anyhow::Context;
use cdc_relay::{Relay, RelaySettings};
use runtime::config::ConfigSource;

/// The relay allocates with mimalloc rather than glibc's malloc: it allocates each record
/// on its reading thread and much of it is freed on other threads (librdkafka's), and
/// glibc's per-thread arenas made malloc and free a third of the reading thread's CPU
/// while draining (perf). The services keep glibc's: mimalloc raised their idle RSS from
/// 16–19 to 27.5–31.9 MiB, over their 20 MiB budget (docs/benchmarks.md, 2026-12-08).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One thread runs every task: the replication stream's reader hands each message to the
/// pipeline through a channel, and on a multi-threaded runtime that hand-off woke another
/// thread (a futex call) per message. librdkafka's own threads do the producing. Side by
/// side over the same backlog, the relay used 0.89 times the CPU and drained 1.04 times
/// as fast (docs/benchmarks.md, 2026-12-08).
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    runtime::telemetry::init("info");
    let settings: RelaySettings = ConfigSource::from_process_env()
        .load()
        .context("invalid configuration")?;
    let relay = Relay::build(settings).await.context("cannot start")?;
    tracing::info!(http = %relay.http_address()?, "cdc-relay started");
    relay
        .run_until(runtime::http::shutdown_signal())
        .await
        .context("relay failed")?;
    tracing::info!("cdc-relay stopped");
    Ok(())
}
