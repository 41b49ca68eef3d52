//! The system's APIs called as a client would: one HTTP client with keep-alive and a
//! timeout, an `Idempotency-Key` on every order.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use uuid::Uuid;

use super::Target;
use crate::error::{Error, Result};

/// How long one request may take before it counts as timed out.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What order-service answered to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 201: the order's id.
    Accepted(Uuid),
    /// Anything else: `HTTP 503`, `connection refused`, `timed out`, ...
    Refused(String),
}

/// One order placed: the answer and when it was sent and answered.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// What order-service answered.
    pub answer: Answer,
    /// When the (last) request was sent, in ms since the Unix epoch.
    pub sent_ms: i64,
    /// When its answer came, in ms since the Unix epoch.
    pub answered_ms: i64,
    /// How long that request took.
    pub response_time: Duration,
}

/// The APIs of one system; cheap to clone (clones share connections).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    target: Arc<Target>,
}

impl Client {
    /// A client of `target`'s services.
    pub fn new(target: &Target) -> Result<Self> {
        if target.orders.is_empty() {
            return Err(Error::Load("no order-service to place orders at".into()));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| Error::Load(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            target: Arc::new(target.clone()),
        })
    }

    /// Registers a consumer; returns its id.
    pub async fn create_consumer(&self, body: &Value) -> Result<Uuid> {
        self.create(&format!("{}/v1/consumers", self.target.consumers), body)
            .await
    }

    /// Creates a restaurant; returns its id.
    pub async fn create_restaurant(&self, body: &Value) -> Result<Uuid> {
        self.create(&format!("{}/v1/restaurants", self.target.restaurants), body)
            .await
    }

    async fn create(&self, url: &str, body: &Value) -> Result<Uuid> {
        let refused = |why: String| Error::Load(format!("POST {url}: {why}"));
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| refused(transport_error(&e).to_owned()))?;
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or_default();
        match answer["id"].as_str().and_then(|id| id.parse().ok()) {
            Some(id) if status == 201 => Ok(id),
            _ => Err(refused(format!("{status} {answer}"))),
        }
    }

    /// Places order `body` at order-service instance `instance` (modulo their number)
    /// with Idempotency-Key `key`. A restaurant created a moment ago needs no waiting:
    /// order-service waits for its replica, or accepts the order and prices it later.
    pub async fn place(&self, instance: usize, body: &Value, key: &str) -> Exchange {
        let url = format!(
            "{}/v1/orders",
            self.target.orders[instance % self.target.orders.len()]
        );
        let sent = Instant::now();
        let sent_ms = epoch_ms();
        let answer = self.post_order(&url, body, key).await;
        Exchange {
            answer,
            sent_ms,
            answered_ms: epoch_ms(),
            response_time: sent.elapsed(),
        }
    }

    async fn post_order(&self, url: &str, body: &Value, key: &str) -> Answer {
        let response = match self
            .http
            .post(url)
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) => return Answer::Refused(transport_error(&e).to_owned()),
        };
        let status = response.status().as_u16();
        let answer: Option<Value> = response.json().await.ok();
        if status != 201 {
            return Answer::Refused(format!("HTTP {status}"));
        }
        match answer {
            None => Answer::Refused("201 with an unreadable body".into()),
            Some(order) => match order["id"].as_str().and_then(|id| id.parse().ok()) {
                Some(id) => Answer::Accepted(id),
                None => Answer::Refused("201 without an id".into()),
            },
        }
    }
}

/// What kept a request from being answered.
fn transport_error(error: &reqwest::Error) -> &'static str {
    if error.is_connect() {
        "connection refused"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "connection error"
    }
}

/// Milliseconds since the Unix epoch (the clock Kafka's record timestamps use).
pub(crate) fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
