//! `restaurant-service`: reads its settings and runs [`restaurant_service::build`] until
//! SIGTERM or Ctrl-C.

use anyhow::Context;
use platform::config::ConfigSource;
use restaurant_service::Settings;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    platform::telemetry::init("info");
    let settings: Settings = ConfigSource::from_process_env()
        .load()
        .context("invalid configuration")?;
    let app = restaurant_service::build(&settings)
        .await
        .context("cannot start")?;
    tracing::info!(http = %app.local_addr()?, "restaurant-service started");
    app.run_until(platform::http::shutdown_signal())
        .await
        .context("restaurant-service failed")?;
    tracing::info!("restaurant-service stopped");
    Ok(())
}
