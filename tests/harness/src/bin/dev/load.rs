//! `cargo dev load`: orders at a fixed rate against a running stack, followed to their
//! outcomes, with progress every second and a summary; fails on any order refused, lost
//! or ended wrongly. The engine is the harness's ([`ftgo_harness::load`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use ftgo_harness::load::{self, Mix, Pacing, Plan, Target, Until};
use ftgo_harness::{KafkaTarget, StackAddresses};

/// The options of `cargo dev load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Orders per second: `20` or `20/s`.
    #[arg(long, default_value = "20/s", value_parser = parse_rate)]
    rate: f64,
    /// How long to place orders (`30s`, `2m`, `500ms`); 30 s unless `--count` is given.
    #[arg(long, value_parser = parse_duration, conflicts_with = "count")]
    duration: Option<Duration>,
    /// How many orders to place.
    #[arg(long)]
    count: Option<usize>,
    /// How long an accepted order may take to end (VALIDATED or REJECTED) before it
    /// counts as lost.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    deadline: Duration,
    /// Requests waiting for their answer at most.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// The addresses `cargo dev up` wrote [default: ~/.cache/ftgo/up.json].
    #[arg(long, conflicts_with = "orders")]
    addresses: Option<PathBuf>,
    /// Instead of an addresses file: an order-service base URL (repeat it for several
    /// instances; orders go to them in turn). Needs --consumers, --restaurants, --kafka.
    #[arg(long, requires_all = ["consumers", "restaurants", "kafka"])]
    orders: Vec<String>,
    /// consumer-service's base URL.
    #[arg(long)]
    consumers: Option<String>,
    /// restaurant-service's base URL.
    #[arg(long)]
    restaurants: Option<String>,
    /// The broker's `bootstrap.servers` (orders are followed on `order.events`).
    #[arg(long)]
    kafka: Option<String>,
    /// The system's `kafka.topic_prefix`.
    #[arg(long, default_value = "")]
    topic_prefix: String,
}

/// Runs the load; an error if the system got anything wrong.
pub fn load(args: LoadArgs) -> anyhow::Result<()> {
    let target = target(&args)?;
    let (until, how_long) = match (args.count, args.duration) {
        (Some(count), _) => (Until::Count(count), format!("{count} orders")),
        (None, duration) => {
            let duration = duration.unwrap_or(Duration::from_secs(30));
            (Until::Elapsed(duration), format!("for {duration:.0?}"))
        }
    };
    let plan = Plan {
        mix: Mix::standard(),
        pacing: Pacing {
            rate: args.rate,
            until,
            in_flight: args.in_flight,
        },
        deadline: args.deadline,
    };
    eprintln!(
        "[load] {} orders/s, {how_long}, at {}; mix {}",
        args.rate,
        target.orders.join(", "),
        plan.mix
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let report = runtime
        .block_on(load::run(&target, plan, |now| eprintln!("[load] {now}")))
        .context("running the load")?;
    println!("{report}");
    let failures = report.failures();
    if !failures.is_empty() {
        bail!("the system got {} thing(s) wrong", failures.len());
    }
    Ok(())
}

fn target(args: &LoadArgs) -> anyhow::Result<Target> {
    if let (Some(consumers), Some(restaurants), Some(kafka)) =
        (&args.consumers, &args.restaurants, &args.kafka)
        && !args.orders.is_empty()
    {
        return Ok(Target {
            orders: args.orders.clone(),
            consumers: consumers.clone(),
            restaurants: restaurants.clone(),
            kafka: KafkaTarget {
                bootstrap: kafka.clone(),
                topic_prefix: args.topic_prefix.clone(),
            },
        });
    }
    let file = args
        .addresses
        .clone()
        .unwrap_or_else(super::up::default_addresses_file);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "reading {} (is `cargo dev up` running? or give --orders, --consumers, \
             --restaurants and --kafka)",
            file.display()
        )
    })?;
    let addresses: StackAddresses =
        serde_json::from_str(&text).with_context(|| format!("reading {}", file.display()))?;
    Ok(Target::from_addresses(&addresses)?)
}

/// `20`, `20/s` or `2.5/s`: orders per second.
fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.strip_suffix("/s").unwrap_or(text);
    match number.trim().parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(rate),
        _ => Err(format!("{text:?} is no rate: write e.g. 20/s")),
    }
}

/// `500ms`, `30s`, `2m` (or `30`, seconds).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("{text:?} is no duration: write e.g. 30s, 2m or 500ms");
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let number: f64 = number.parse().map_err(|_| invalid())?;
    let seconds = match unit {
        "ms" => number / 1e3,
        "s" => number,
        "m" | "min" => number * 60.0,
        _ => return Err(invalid()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_durations_read_as_written() {
        assert_eq!(parse_rate("20/s"), Ok(20.0));
        assert_eq!(parse_rate("2.5"), Ok(2.5));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
