//! `cargo dev screenshot`: the overview console under a little load, as a PNG.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ftgo_harness::{Stack, StackOptions, chromium, load};

/// Orders placed for the screenshot (one in 20 rejected), and their spacing: about a
/// minute of load, so the rates are not zero and the graphs have a shape.
const SCREENSHOT_ORDERS: usize = 120;
const SCREENSHOT_REJECTED: usize = 6;
const SCREENSHOT_PAUSE: Duration = Duration::from_millis(500);

/// Writes the screenshot to `path`.
pub fn screenshot(path: &Path) -> anyhow::Result<()> {
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
        chromium::screenshot(&url, path, 1280, 1260)
            .await
            .context("taking the screenshot")
    })
}
