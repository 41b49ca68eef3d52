//! `cdc-relay`: see the crate documentation.

use anyhow::Context;
use cdc_relay::{Relay, RelaySettings};
use runtime::config::ConfigSource;

#[tokio::main]
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
