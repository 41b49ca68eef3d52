//! Starting the whole system and driving it as a client would.

use std::time::{Duration, Instant};

use ftgo_harness::{Stack, StackOptions};
use serde_json::{Value, json};
use uuid::Uuid;

/// The whole system, running.
pub struct System {
    pub stack: Stack,
    pub http: reqwest::Client,
}

/// Settings every e2e system uses: a generous validation deadline (tests stop services on
/// purpose) and a small, fast circuit breaker.
fn defaults() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "order-service",
            "FTGO_ORDERS__VALIDATION_DEADLINE_MS",
            "120000",
        ),
        (
            "order-service",
            "FTGO_CONSUMER_SERVICE__RESILIENCE__TIMEOUT_MS",
            "500",
        ),
        (
            "order-service",
            "FTGO_CONSUMER_SERVICE__RESILIENCE__SLIDING_WINDOW_SIZE",
            "4",
        ),
        (
            "order-service",
            "FTGO_CONSUMER_SERVICE__RESILIENCE__MINIMUM_CALLS",
            "3",
        ),
        (
            "order-service",
            "FTGO_CONSUMER_SERVICE__RESILIENCE__OPEN_WAIT_MS",
            "2000",
        ),
        (
            "order-service",
            "FTGO_CONSUMER_SERVICE__RESILIENCE__HALF_OPEN_CALLS",
            "1",
        ),
    ]
}

impl System {
    /// Starts everything with the defaults.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts everything; `overrides` are `(binary, env key, value)`.
    pub async fn start_with(overrides: &[(&str, &str, &str)]) -> Self {
        Self::start_configured(overrides, &[]).await
    }

    /// Starts everything; `overrides` are `(binary, env key, value)` for services,
    /// `relay_env` `(env key, value)` for every relay.
    pub async fn start_configured(
        overrides: &[(&str, &str, &str)],
        relay_env: &[(&str, &str)],
    ) -> Self {
        Self::start_options(overrides, relay_env, false).await
    }

    /// Starts everything on a broker of the system's own (not the test run's shared
    /// one), for tests that pause, kill or restart the broker.
    pub async fn start_on_own_broker(overrides: &[(&str, &str, &str)]) -> Self {
        Self::start_options(overrides, &[], true).await
    }

    async fn start_options(
        overrides: &[(&str, &str, &str)],
        relay_env: &[(&str, &str)],
        private_broker: bool,
    ) -> Self {
        let mut service_env: Vec<(String, String, String)> = defaults()
            .into_iter()
            .filter(|(b, k, _)| !overrides.iter().any(|(ob, ok, _)| ob == b && ok == k))
            .map(|(b, k, v)| (b.into(), k.into(), v.into()))
            .collect();
        service_env.extend(
            overrides
                .iter()
                .map(|(b, k, v)| ((*b).into(), (*k).into(), (*v).into())),
        );
        let stack = Stack::start_with(StackOptions {
            services: true,
            service_env,
            relay_env: relay_env
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            private_broker,
            ..StackOptions::default()
        })
        .await
        .expect("the system starts");
        Self {
            stack,
            http: reqwest::Client::new(),
        }
    }

    /// Base URL of the first instance of `binary`.
    pub fn url(&mut self, binary: &str) -> String {
        self.stack.service(binary, 0).url()
    }

    /// POSTs JSON, returning status and body.
    pub async fn post(&self, url: &str, body: &Value) -> (u16, Value) {
        let response = self.http.post(url).json(body).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// GETs JSON, returning status and body.
    pub async fn get(&self, url: &str) -> (u16, Value) {
        let response = self.http.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Creates a consumer with the default spending limit; returns its id.
    pub async fn create_consumer(&mut self, name: &str) -> Uuid {
        let url = format!("{}/v1/consumers", self.url("consumer-service"));
        let (status, body) = self.post(&url, &json!({ "name": name })).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates a delivering restaurant with `menu` as (item id, price in cents).
    pub async fn create_restaurant(&mut self, menu: &[(&str, i64)]) -> Uuid {
        let url = format!("{}/v1/restaurants", self.url("restaurant-service"));
        let menu: Vec<Value> = menu
            .iter()
            .map(|(id, price)| json!({ "id": id, "name": format!("dish {id}"), "price_cents": price }))
            .collect();
        let (status, body) = self
            .post(
                &url,
                &json!({ "name": "Ajanta", "delivers": true, "menu": menu }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Places an order, right after its restaurant was created if so: order-service
    /// waits for its replica or accepts the order unpriced. Returns the 201 body.
    pub async fn place_order(
        &mut self,
        consumer: Uuid,
        restaurant: Uuid,
        items: &[(&str, u32)],
    ) -> Value {
        let url = format!("{}/v1/orders", self.url("order-service"));
        let items: Vec<Value> = items
            .iter()
            .map(|(id, q)| json!({ "menu_item_id": id, "quantity": q }))
            .collect();
        let body =
            json!({ "consumer_id": consumer, "restaurant_id": restaurant, "line_items": items });
        let (status, answer) = self.post(&url, &body).await;
        assert_eq!(status, 201, "order refused: {answer}");
        answer
    }

    /// Polls the order until it is in `state`; returns it.
    pub async fn wait_for_state(&mut self, order_id: &str, state: &str, within: Duration) -> Value {
        let url = format!("{}/v1/orders/{order_id}", self.url("order-service"));
        let deadline = Instant::now() + within;
        loop {
            let (status, order) = self.get(&url).await;
            assert_eq!(status, 200, "{order}");
            if order["state"] == state {
                return order;
            }
            assert!(
                Instant::now() < deadline,
                "order {order_id} not {state} within {within:?}: {order}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Sum of a metric's samples whose labels contain every `label="value"` pair given.
pub async fn metric(address: std::net::SocketAddr, name: &str, labels: &[(&str, &str)]) -> f64 {
    let (_, body) = ftgo_harness::http::get(address, "/metrics")
        .await
        .unwrap_or_default();
    let fragments: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let fragments: Vec<&str> = fragments.iter().map(String::as_str).collect();
    ftgo_harness::http::metric_value_matching(&body, name, &fragments).unwrap_or(0.0)
}
