//! Runs the deadline sweep ([`crate::application::sweep_deadlines`]) every interval
//! until the service stops.

use std::time::Duration;

use tokio::sync::watch;

use crate::application::Application;

/// Sweeps every `interval` until `stop`. A failed sweep (database down) is logged and
/// tried again at the next interval.
pub async fn run(
    application: Application,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> service::Result<()> {
    loop {
        if let Err(e) = application.sweep_deadlines().await {
            tracing::warn!(error = %e, "deadline sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}
