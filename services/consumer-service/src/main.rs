//! `consumer-service`: reads its settings and runs [`consumer_service::build`] until
//! SIGTERM or Ctrl-C.

use anyhow::Context;
use consumer_service::Settings;
use platform::config::ConfigSource;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("info");
    let settings: Settings = ConfigSource::from_process_env()
        .load()
        .context("invalid configuration")?;
    let app = consumer_service::build(&settings)
        .await
        .context("cannot start")?;
    tracing::info!(http = %app.local_addr()?, "consumer-service started");
    app.run_until(platform::http::shutdown_signal())
        .await
        .context("consumer-service failed")?;
    tracing::info!("consumer-service stopped");
    Ok(())
}
