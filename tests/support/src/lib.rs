//! What the services' real-stack tests share: a stack running one service (and its
//! relay), commands produced straight to the broker, replies and metrics read back,
//! problem+json assertions; and a service built and run in the test process
//! ([`in_process`]).

mod in_process;
mod replies;

pub use in_process::{TestApp, settings_env, start_in_process};
pub use replies::{
    assert_answered_once, assert_no_server_errors, assert_one_reply, await_duplicate, replies,
};

use std::future::Future;
use std::time::{Duration, Instant};

use contracts::order;
use ftgo_harness::Stack;
use ftgo_harness::kafka::ReceivedRecord;
use outbox::headers;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use uuid::Uuid;

/// Generous: the stack shares two cores with concurrent builds.
pub const WITHIN: Duration = Duration::from_secs(60);

/// A stack with service `binary` (e.g. `consumer-service`) ready and, when `relay`, its
/// outbox relayed to Kafka; returns the stack and the service's base URL. The service
/// starts first: its migrations create the outbox the relay streams.
pub async fn start_service(binary: &str, relay: bool) -> (Stack, String) {
    let mut stack = Stack::start().await.unwrap();
    let service = stack.start_service(binary, &[]).await.unwrap();
    service.wait_ready(WITHIN).await.unwrap();
    let url = service.url();
    if relay {
        let relay = stack
            .start_relay(&binary.replace('-', "_"), &[])
            .await
            .unwrap();
        relay.wait_ready(WITHIN).await.unwrap();
    }
    (stack, url)
}

/// Polls `condition` until it holds; panics with `what` after `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    while !condition().await {
        assert!(Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A message as order-service would produce it (or deliberately not).
#[derive(Debug, Clone)]
pub struct Command {
    pub id: Uuid,
    pub key: String,
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl Command {
    /// A JSON command with every header the relay would set, replying to order-service.
    pub fn json(message_type: &str, key: impl ToString, payload: &impl serde::Serialize) -> Self {
        Self::raw(message_type, key, serde_json::to_vec(payload).unwrap())
    }

    /// A command with these payload bytes.
    pub fn raw(message_type: &str, key: impl ToString, payload: Vec<u8>) -> Self {
        let id = Uuid::now_v7();
        Self {
            id,
            key: key.to_string(),
            headers: vec![
                (headers::MESSAGE_ID.into(), id.to_string()),
                (headers::MESSAGE_TYPE.into(), message_type.into()),
                (
                    headers::SCHEMA_VERSION.into(),
                    contracts::VERSION.to_string(),
                ),
                (outbox::headers::REPLY_TO.into(), order::REPLIES.into()),
                (headers::CONTENT_TYPE.into(), "application/json".into()),
            ],
            payload,
        }
    }

    /// Sets (or replaces) a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(k, _)| k != name);
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Produces it to channel `topic` (the stack's topic of that name) and waits for the
    /// broker's acknowledgement.
    pub async fn send(&self, stack: &Stack, topic: &str) {
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", stack.broker.bootstrap_servers())
            .create()
            .unwrap();
        let mut headers = OwnedHeaders::new();
        for (name, value) in &self.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let topic = stack.topic(topic);
        let record = FutureRecord::to(&topic)
            .key(&self.key)
            .payload(&self.payload)
            .headers(headers);
        producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
}

/// Reads `topic` from the start until `done` holds for the records read so far.
pub fn read_until(
    stack: &Stack,
    topic: &str,
    done: impl Fn(&[ReceivedRecord]) -> bool,
) -> Vec<ReceivedRecord> {
    let mut reader = stack.topic_reader(&[topic]).unwrap();
    reader.read_until(WITHIN, done).to_vec()
}

/// The records whose `header` is `value`.
pub fn with_header<'a>(
    records: &'a [ReceivedRecord],
    header: &str,
    value: &str,
) -> Vec<&'a ReceivedRecord> {
    records
        .iter()
        .filter(|r| r.header(header) == Some(value))
        .collect()
}

/// Sum of the samples of `family` whose labels include `label` (e.g.
/// `outcome="duplicate"`), from the process's `/metrics`.
pub async fn metric_with_label(url: &str, family: &str, label: &str) -> f64 {
    let address = url.trim_start_matches("http://").parse().unwrap();
    let Some((200, body)) = ftgo_harness::http::get(address, "/metrics").await else {
        return 0.0;
    };
    ftgo_harness::http::metric_value_matching(&body, family, &[label]).unwrap_or(0.0)
}

/// Reads the dead-letter topic until every message in `ids` is there; checks each was
/// dead-lettered once, from channel `original_topic` (its header names the Kafka topic,
/// with the stack's prefix), and returns their reasons in `ids` order.
pub fn dead_letter_reasons(stack: &Stack, ids: &[String], original_topic: &str) -> Vec<String> {
    let dead = read_until(stack, ftgo_harness::DEAD_LETTER_TOPIC, |records| {
        ids.iter()
            .all(|id| !with_header(records, headers::MESSAGE_ID, id).is_empty())
    });
    ids.iter()
        .map(|id| {
            let found = with_header(&dead, headers::MESSAGE_ID, id);
            assert_eq!(found.len(), 1, "{id} dead-lettered once: {dead:?}");
            assert_eq!(
                found[0].header(headers::DEAD_LETTER_ORIGINAL_TOPIC),
                Some(stack.topic(original_topic).as_str())
            );
            found[0]
                .header(headers::DEAD_LETTER_REASON)
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Asserts that each command was dead-lettered once from channel `original_topic` with a
/// reason that contains its expected text.
pub fn assert_dead_lettered(stack: &Stack, original_topic: &str, expected: &[(&Command, &str)]) {
    let ids: Vec<String> = expected.iter().map(|(c, _)| c.id.to_string()).collect();
    let reasons = dead_letter_reasons(stack, &ids, original_topic);
    for ((command, text), reason) in expected.iter().zip(reasons) {
        assert!(reason.contains(text), "{}: {reason}", command.id);
    }
}

/// Reads the OpenAPI document of the service at `url`; asserts it is OpenAPI 3.1 and
/// documents each `(method, path)` operation and each named schema. Returns the document.
pub async fn assert_openapi(
    url: &str,
    operations: &[(&str, &str)],
    schemas: &[&str],
) -> serde_json::Value {
    let response = reqwest::get(format!("{url}/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    let document: serde_json::Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{document}"
    );
    for (method, path) in operations {
        assert!(
            document["paths"][path][method].is_object(),
            "{method} {path} missing: {document}"
        );
    }
    for schema in schemas {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "{schema} missing: {document}"
        );
    }
    document
}

/// Asserts `response` is problem+json with `status` (and `field`, when given); returns
/// the document.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    field: Option<&str>,
) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status, "{response:?}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status, "{problem}");
    if let Some(field) = field {
        assert_eq!(problem["field"], field, "{problem}");
    }
    problem
}
