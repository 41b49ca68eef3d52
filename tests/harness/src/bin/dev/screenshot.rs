//! `cargo dev screenshot`: the overview console under a little load, as a PNG.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ftgo_harness::load::{self, Kind, Mix, Pacing, Plan, Target, Until};
use ftgo_harness::{Progress, Stack, StackOptions, chromium};

/// The load shown: 120 orders over a minute, one in 20 rejected, so the rates are not
/// zero and the graphs have a shape.
const ORDERS: usize = 120;
const RATE: f64 = 2.0;

/// Writes the screenshot to `path`.
pub fn screenshot(path: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let stack = Stack::start_with(StackOptions {
            prometheus: true,
            private_broker: true,
            progress: Progress::new(|line| eprintln!("[screenshot] {line}")),
            ..StackOptions::default()
        })
        .await
        .context("starting the stack")?;
        let plan = Plan {
            mix: Mix::one_in(Kind::OffMenu, 19),
            pacing: Pacing {
                rate: RATE,
                until: Until::Count(ORDERS),
                in_flight: 8,
            },
            deadline: Duration::from_secs(60),
        };
        eprintln!(
            "[screenshot] placing {ORDERS} orders over ~1 minute ({})",
            plan.mix
        );
        let target = Target::from_addresses(&stack.addresses())?;
        let report = load::run(&target, plan, |now| eprintln!("[load] {now}"))
            .await
            .context("placing orders")?;
        if !report.passed() {
            bail!("the load went wrong:\n{report}");
        }
        // Wait until Prometheus has scraped every outcome and the consumers have caught
        // up, so the page shows all orders.
        eprintln!("[screenshot] waiting for Prometheus to have scraped every outcome");
        let expr = format!(
            "sum(ftgo_orders_total{{outcome=~\"validated|rejected\"}}) >= {} \
             and on() sum(ftgo_consumer_lag_messages) == 0",
            report.validated + report.rejected
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
        eprintln!("[screenshot] rendering {url} with headless Chromium");
        chromium::screenshot(&url, path, 1280, 1260)
            .await
            .context("taking the screenshot")
    })
}
