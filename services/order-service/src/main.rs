//! `order-service`: see the crate documentation.

use anyhow::Context;
use platform::config::ConfigSource;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("info");
    let settings: order_service::Settings = ConfigSource::from_process_env()
        .load()
        .context("invalid configuration")?;
    let app = order_service::build(settings)
        .await
        .context("cannot start")?;
    tracing::info!(http = %app.local_addr()?, "order-service started");
    app.run_until(platform::http::shutdown_signal())
        .await
        .context("order-service failed")?;
    tracing::info!("order-service stopped");
    Ok(())
}
