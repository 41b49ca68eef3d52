//! Steady order load with a known mix of inputs, and the outcome each input dictates.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use uuid::Uuid;

use crate::support::System;

/// What an order asks for, which decides how it must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Known consumer within its limit, delivering restaurant, items on the menu.
    Valid,
    /// A consumer consumer-service does not know.
    UnknownConsumer,
    /// A consumer whose spending limit is below the total.
    OverLimit,
    /// An item the restaurant's menu does not have.
    OffMenu,
    /// A restaurant that does not deliver.
    NotDelivering,
}

/// The mix placed, in turn: five valid orders to four of the rejection causes. Its
/// length is odd so that, placed round-robin over two order-service instances, each
/// kind goes to both.
const MIX: [Kind; 9] = [
    Kind::Valid,
    Kind::UnknownConsumer,
    Kind::Valid,
    Kind::OverLimit,
    Kind::Valid,
    Kind::OffMenu,
    Kind::Valid,
    Kind::NotDelivering,
    Kind::Valid,
];

/// How an order must end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// VALIDATED.
    Validated,
    /// REJECTED with a reason containing this text.
    Rejected(String),
}

/// The consumers and restaurants the load uses.
#[derive(Debug, Clone, Copy)]
pub struct Fixtures {
    consumer: Uuid,
    limited_consumer: Uuid,
    unknown_consumer: Uuid,
    restaurant: Uuid,
    closed_restaurant: Uuid,
}

/// The one item the menus lack.
const OFF_MENU_ITEM: &str = "pizza";
/// The limited consumer's limit: below a samosa.
const LOW_LIMIT_CENTS: i64 = 100;
const MENU: [(&str, i64); 2] = [("samosa", 250), ("curry", 1_200)];

impl Fixtures {
    /// Creates them, and waits until order-service's replica knows both restaurants (by
    /// placing one order at each). Returns the two orders too: they are part of the run.
    pub async fn create(system: &mut System) -> (Self, Vec<Uuid>) {
        let fixtures = Self {
            consumer: system.create_consumer("Ada").await,
            limited_consumer: system
                .create_limited_consumer("Thrifty", LOW_LIMIT_CENTS)
                .await,
            unknown_consumer: Uuid::now_v7(),
            restaurant: system.create_restaurant_delivering(true, &MENU).await,
            closed_restaurant: system.create_restaurant_delivering(false, &MENU).await,
        };
        let mut probes = Vec::new();
        for restaurant in [fixtures.restaurant, fixtures.closed_restaurant] {
            let order = system
                .place_order(fixtures.consumer, restaurant, &[("samosa", 1)])
                .await;
            probes.push(order["id"].as_str().unwrap().parse().unwrap());
        }
        (fixtures, probes)
    }

    /// Fixtures with made-up ids and nothing behind them, to check the audit's
    /// arithmetic without a running system.
    pub fn made_up() -> Self {
        Self {
            consumer: Uuid::now_v7(),
            limited_consumer: Uuid::now_v7(),
            unknown_consumer: Uuid::now_v7(),
            restaurant: Uuid::now_v7(),
            closed_restaurant: Uuid::now_v7(),
        }
    }

    /// The request body of an order of `kind`.
    pub fn body(&self, kind: Kind) -> Value {
        let (consumer, restaurant, items): (Uuid, Uuid, &[(&str, u32)]) = match kind {
            Kind::Valid => (
                self.consumer,
                self.restaurant,
                &[("samosa", 2), ("curry", 1)],
            ),
            Kind::UnknownConsumer => (self.unknown_consumer, self.restaurant, &[("samosa", 1)]),
            Kind::OverLimit => (self.limited_consumer, self.restaurant, &[("samosa", 1)]),
            Kind::OffMenu => (self.consumer, self.restaurant, &[(OFF_MENU_ITEM, 1)]),
            Kind::NotDelivering => (self.consumer, self.closed_restaurant, &[("samosa", 1)]),
        };
        let items: Vec<Value> = items
            .iter()
            .map(|(id, q)| json!({ "menu_item_id": id, "quantity": q }))
            .collect();
        json!({ "consumer_id": consumer, "restaurant_id": restaurant, "line_items": items })
    }

    /// The kind of a stored order, from its inputs; `None` for an order the suite did not
    /// place.
    pub fn kind_of(&self, consumer: Uuid, restaurant: Uuid, items: &Value) -> Option<Kind> {
        let item_ids: Vec<&str> = items
            .as_array()?
            .iter()
            .filter_map(|line| line["menu_item_id"].as_str())
            .collect();
        let on_menu = item_ids
            .iter()
            .all(|id| MENU.iter().any(|(item, _)| item == id));
        Some(match (consumer, restaurant) {
            (c, r) if c == self.unknown_consumer && r == self.restaurant => Kind::UnknownConsumer,
            (c, r) if c == self.limited_consumer && r == self.restaurant => Kind::OverLimit,
            (c, r) if c == self.consumer && r == self.closed_restaurant => Kind::NotDelivering,
            (c, r) if c == self.consumer && r == self.restaurant && on_menu => Kind::Valid,
            (c, r) if c == self.consumer && r == self.restaurant && item_ids == [OFF_MENU_ITEM] => {
                Kind::OffMenu
            }
            _ => return None,
        })
    }

    /// How an order of `kind` must end: the verdicts consumer-service and
    /// restaurant-service give for these inputs.
    pub fn outcome(&self, kind: Kind) -> Outcome {
        match kind {
            Kind::Valid => Outcome::Validated,
            Kind::UnknownConsumer => {
                Outcome::Rejected(format!("consumer {} not found", self.unknown_consumer))
            }
            Kind::OverLimit => Outcome::Rejected("order total exceeds limit".into()),
            Kind::OffMenu => {
                Outcome::Rejected(format!("menu item {OFF_MENU_ITEM} not on the menu"))
            }
            Kind::NotDelivering => Outcome::Rejected(format!(
                "restaurant {} does not deliver",
                self.closed_restaurant
            )),
        }
    }
}

/// What one stretch of load placed.
#[derive(Debug, Default)]
pub struct Placed {
    /// Orders answered 201.
    pub accepted: Vec<Uuid>,
    /// Requests not answered 201, by what happened (`HTTP 503`, `connection refused`, ...).
    pub refused: BTreeMap<String, usize>,
}

/// Orders arriving at a steady rate, round-robin over order-service instances, until
/// stopped. Each request runs on its own task, so a slow answer during a fault does not
/// slow the arrivals.
#[derive(Debug)]
pub struct Load {
    stop: watch::Sender<bool>,
    task: JoinHandle<Placed>,
    accepted: Arc<AtomicUsize>,
}

impl Load {
    /// Starts placing `per_second` orders per second at `instances` (base URLs).
    pub fn start(fixtures: Fixtures, instances: Vec<String>, per_second: f64) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("HTTP client");
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut requests = JoinSet::new();
            let mut placed = Placed::default();
            let record = |placed: &mut Placed, result: Result<Uuid, String>| match result {
                Ok(id) => {
                    placed.accepted.push(id);
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Err(why) => *placed.refused.entry(why).or_default() += 1,
            };
            let mut n = 0usize;
            loop {
                tokio::select! {
                    _ = stopped.wait_for(|s| *s) => break,
                    Some(done) = requests.join_next(), if !requests.is_empty() => {
                        record(&mut placed, done.expect("request task"));
                    }
                    _ = tick.tick() => {
                        let url = format!("{}/v1/orders", instances[n % instances.len()]);
                        let body = fixtures.body(MIX[n % MIX.len()]);
                        requests.spawn(place(http.clone(), url, body));
                        n += 1;
                    }
                }
            }
            while let Some(done) = requests.join_next().await {
                record(&mut placed, done.expect("request task"));
            }
            placed
        });
        Self {
            stop,
            task,
            accepted,
        }
    }

    /// Orders accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Stops placing orders, waits for the answers still due, and returns what happened.
    pub async fn stop(self) -> Placed {
        let _ = self.stop.send(true);
        self.task.await.expect("load task")
    }
}

/// Places one order: its id if answered 201, else what happened.
async fn place(http: reqwest::Client, url: String, body: Value) -> Result<Uuid, String> {
    let response = http.post(&url).json(&body).send().await.map_err(|e| {
        if e.is_connect() {
            "connection refused".to_owned()
        } else if e.is_timeout() {
            "timed out".to_owned()
        } else {
            "connection error".to_owned()
        }
    })?;
    let status = response.status().as_u16();
    if status != 201 {
        return Err(format!("HTTP {status}"));
    }
    let order: Value = response
        .json()
        .await
        .map_err(|_| "201 with an unreadable body".to_owned())?;
    order["id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| format!("201 without an id: {order}"))
}
