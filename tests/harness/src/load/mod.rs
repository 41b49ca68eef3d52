//! A load generator for a running system: orders at a fixed rate, from a [`Mix`] with
//! each kind of rejection, each with an `Idempotency-Key`, followed to their outcome.
//!
//! The pieces, each usable alone:
//! - [`Fixtures`]: the consumers and restaurants the orders name, and each kind's body
//!   and required outcome;
//! - [`Pacer`]: places orders at a fixed rate (the fault suite runs one while it injects
//!   faults; the benchmark measures with one);
//! - [`Tracker`]: reads each order's creation and outcome from `order.events`;
//! - [`Book`]: joins the two and checks every outcome; [`Report`] says what went wrong.
//!
//! [`run`] puts them together for `cargo dev load` and the tests.

mod book;
mod client;
mod fixtures;
mod mix;
mod pace;
mod report;
mod track;

use std::time::Duration;

pub use self::book::{Book, Snapshot};
pub use self::client::{Answer, Client, Exchange};
pub use self::fixtures::Fixtures;
pub use self::mix::{Kind, Mix, Outcome};
pub use self::pace::{Paced, Pacer, Pacing, Placement, Until};
pub use self::report::Report;
pub use self::track::{Seen, Step, Tracker};
use crate::error::{Error, Result};
use crate::stack::{KafkaTarget, StackAddresses};

/// Where the system is.
#[derive(Debug, Clone)]
pub struct Target {
    /// Base URLs of the order-service instances; orders go to them in turn.
    pub orders: Vec<String>,
    /// consumer-service's base URL.
    pub consumers: String,
    /// restaurant-service's base URL.
    pub restaurants: String,
    /// The broker carrying `order.events`, and the system's topic prefix.
    pub kafka: KafkaTarget,
}

impl Target {
    /// The system `addresses` describe (as `cargo dev up` writes them).
    pub fn from_addresses(addresses: &StackAddresses) -> Result<Self> {
        let urls = |binary: &str| -> Vec<String> {
            addresses
                .services
                .iter()
                .filter(|(b, _)| b == binary)
                .map(|(_, url)| url.clone())
                .collect()
        };
        let one = |binary: &str| {
            urls(binary)
                .into_iter()
                .next()
                .ok_or_else(|| Error::Load(format!("no {binary} among the stack's services")))
        };
        Ok(Self {
            orders: urls("order-service"),
            consumers: one("consumer-service")?,
            restaurants: one("restaurant-service")?,
            kafka: KafkaTarget {
                bootstrap: addresses.kafka_bootstrap.clone(),
                topic_prefix: addresses.kafka_topic_prefix.clone(),
            },
        })
    }
}

/// What a run places and how long it waits for outcomes.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The kinds of order, in turn.
    pub mix: Mix,
    /// The rate, and when to stop.
    pub pacing: Pacing,
    /// How long each accepted order has to end (VALIDATED or REJECTED) before it counts
    /// as lost.
    pub deadline: Duration,
}

/// Creates fixtures, places `plan`'s orders at `target` and follows each to its outcome
/// (or its deadline); calls `progress` every second meanwhile. Fails only if the run
/// cannot be made (the services or the broker unreachable); what the system got wrong
/// is in the report ([`Report::failures`]).
pub async fn run(target: &Target, plan: Plan, progress: impl FnMut(&Snapshot)) -> Result<Report> {
    let client = Client::new(target)?;
    let fixtures = Fixtures::create(&client).await?;
    run_with(&client, fixtures, &target.kafka, plan, progress).await
}

/// [`run`] with a client and fixtures of the caller's (who places more orders with them
/// afterwards), following the orders on `kafka`.
pub async fn run_with(
    client: &Client,
    fixtures: Fixtures,
    kafka: &KafkaTarget,
    plan: Plan,
    mut progress: impl FnMut(&Snapshot),
) -> Result<Report> {
    let mut tracker = Tracker::start(kafka).await?;
    let mix = plan.mix.to_string();
    let mut pacer = Pacer::start(client.clone(), fixtures, plan.mix, plan.pacing);
    let mut book = Book::new(fixtures, plan.deadline);
    let mut every_second = tokio::time::interval(Duration::from_secs(1));
    every_second.tick().await;
    let mut placing = true;
    while placing || book.awaited() > 0 {
        tokio::select! {
            placement = pacer.next(), if placing => match placement {
                Some(placement) => book.placed(&placement),
                None => placing = false,
            },
            Some(seen) = tracker.next() => book.seen(seen),
            _ = every_second.tick() => progress(&book.snapshot()),
        }
    }
    let (paced, _) = pacer.finish().await;
    Ok(book.report(mix, paced))
}
