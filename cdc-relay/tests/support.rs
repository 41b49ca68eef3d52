//! Shared set-up: a stack whose order database has an outbox, and message bookkeeping.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use ftgo_harness::kafka::ReceivedRecord;
use ftgo_harness::{ServiceDatabase, Stack, StackOptions};
use outbox::{self, OutboxMessage, OutboxMode};

pub const SERVICE: &str = "order_service";
pub const TOPIC: &str = "relay.test.events";

/// A stack with the order database's outbox created and a 3-partition topic; the relay
/// is not started yet.
pub async fn stack_with_outbox() -> Stack {
    stack_with_outbox_in(OutboxMode::LogTailing).await
}

/// [`stack_with_outbox`] with the outbox migrated for `mode`.
pub async fn stack_with_outbox_in(mode: OutboxMode) -> Stack {
    stack_with_outbox_options(mode, StackOptions::default()).await
}

/// [`stack_with_outbox_in`] on a broker of the stack's own, for tests that pause or kill
/// the broker.
pub async fn stack_with_outbox_on_own_broker(mode: OutboxMode) -> Stack {
    let options = StackOptions {
        private_broker: true,
        ..StackOptions::default()
    };
    stack_with_outbox_options(mode, options).await
}

async fn stack_with_outbox_options(mode: OutboxMode, options: StackOptions) -> Stack {
    let stack = Stack::start_with(options).await.unwrap();
    let mut client = stack.database(SERVICE).connect().await.unwrap();
    outbox::schema::migrate(&mut client, mode).await.unwrap();
    stack.create_topic(TOPIC, 3).await.unwrap();
    stack
}

/// Starts the order database's relay and waits until it streams.
pub async fn start_relay(stack: &mut Stack, extra_env: &[(&str, &str)]) {
    let relay = stack.start_relay(SERVICE, extra_env).await.unwrap();
    relay.wait_ready(Duration::from_secs(60)).await.unwrap();
}

/// Starts the order database's relay in `mode` and waits until it streams (or polls).
pub async fn start_relay_in(stack: &mut Stack, mode: OutboxMode) {
    let env: &[(&str, &str)] = match mode {
        OutboxMode::LogTailing => &[],
        OutboxMode::Polling => &[
            ("FTGO_MODE", "polling"),
            ("FTGO_POLLING__INTERVAL_MS", "20"),
        ],
    };
    start_relay(stack, env).await;
}

/// The messages of a test: `count` messages over `keys` aggregates, each payload naming
/// its key and its sequence number within the key.
pub fn messages(count: usize, keys: usize) -> Vec<OutboxMessage> {
    keyed_messages("aggregate", count, keys)
}

/// Like [`messages`], over the aggregates `<prefix>-<n>`: a later batch on other
/// aggregates, so each key's sequence stays in commit order.
pub fn keyed_messages(prefix: &str, count: usize, keys: usize) -> Vec<OutboxMessage> {
    (0..count)
        .map(|n| {
            let key = format!("{prefix}-{}", n % keys);
            let seq = n / keys;
            OutboxMessage::json(
                TOPIC,
                &key,
                "TestEvent",
                1,
                &serde_json::json!({ "key": key, "seq": seq }),
            )
            .with_header(
                "traceparent",
                format!("00-{:032x}-{:016x}-01", n + 1, n + 1),
            )
        })
        .collect()
}

/// Commits `messages` in transactions of `per_txn`, in order, through the outbox API.
pub async fn commit_in_transactions(
    db: &ServiceDatabase,
    messages: &[OutboxMessage],
    per_txn: usize,
) {
    commit_in_transactions_in(db, messages, per_txn, OutboxMode::LogTailing).await;
}

/// [`commit_in_transactions`], writing for `mode`.
pub async fn commit_in_transactions_in(
    db: &ServiceDatabase,
    messages: &[OutboxMessage],
    per_txn: usize,
    mode: OutboxMode,
) {
    let mut client = db.connect().await.unwrap();
    for chunk in messages.chunks(per_txn) {
        let tx = client.transaction().await.unwrap();
        outbox::append(&tx, chunk, mode).await.unwrap();
        tx.commit().await.unwrap();
    }
}

/// Reads `TOPIC` until every expected message id was seen (or `within` passes), then on
/// to the end of every partition, so duplicates that came after the last new id, on any
/// partition, are counted too.
pub fn read_all(
    stack: &Stack,
    expected: &[OutboxMessage],
    within: Duration,
) -> Vec<ReceivedRecord> {
    let ids: HashSet<String> = expected.iter().map(|m| m.id.to_string()).collect();
    let mut reader = stack.topic_reader(&[TOPIC]).unwrap();
    reader.read_until(within, |records| {
        let seen: HashSet<&str> = records
            .iter()
            .filter_map(|r| r.header("message-id"))
            .collect();
        ids.iter().all(|id| seen.contains(id.as_str()))
    });
    reader.read_to_end(within).unwrap().to_vec()
}

/// What the relay had not yet made safe when a fault hit, to show the fault mattered:
/// in log tailing mode the WAL bytes between the slot's confirmed position and the
/// server's current position; in polling mode the outbox rows not yet published (and
/// deleted).
pub async fn unconfirmed(stack: &Stack, mode: OutboxMode) -> i64 {
    let client = stack.database(SERVICE).connect().await.unwrap();
    match mode {
        OutboxMode::LogTailing => client
            .query_one(
                "SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint
                 FROM pg_replication_slots WHERE slot_name = $1",
                &[&outbox::schema::slot_name(SERVICE)],
            )
            .await
            .unwrap()
            .get(0),
        OutboxMode::Polling => client
            .query_one("SELECT count(*) FROM outbox", &[])
            .await
            .unwrap()
            .get(0),
    }
}

/// What reached the topic, compared with what was committed.
#[derive(Debug)]
pub struct Delivery {
    pub committed: usize,
    pub received: usize,
    pub lost: usize,
    pub duplicates: usize,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "committed {}, received {}, lost {}, duplicates {}",
            self.committed, self.received, self.lost, self.duplicates
        )
    }
}

/// Checks nothing is lost and each key's messages are in commit order (first
/// occurrences; re-deliveries after a crash are duplicates), on one partition per key.
pub fn verify(expected: &[OutboxMessage], records: &[ReceivedRecord]) -> Delivery {
    let mut seen = HashSet::new();
    let mut duplicates = 0;
    let mut order: HashMap<String, Vec<u64>> = HashMap::new();
    let mut partitions: HashMap<String, HashSet<i32>> = HashMap::new();
    for record in records {
        let id = record.header("message-id").expect("message-id header");
        if !seen.insert(id.to_owned()) {
            duplicates += 1;
            continue;
        }
        let payload: serde_json::Value = serde_json::from_slice(&record.payload).unwrap();
        let key = record.key.clone().expect("key");
        assert_eq!(payload["key"], key.as_str(), "key is the aggregate id");
        order
            .entry(key.clone())
            .or_default()
            .push(payload["seq"].as_u64().unwrap());
        partitions.entry(key).or_default().insert(record.partition);
    }
    for (key, seqs) in &order {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "messages of {key} out of commit order: {seqs:?}"
        );
    }
    for (key, parts) in &partitions {
        assert_eq!(parts.len(), 1, "{key} spread over partitions {parts:?}");
    }
    let lost = expected
        .iter()
        .filter(|m| !seen.contains(&m.id.to_string()))
        .count();
    Delivery {
        committed: expected.len(),
        received: records.len(),
        lost,
        duplicates,
    }
}

/// Headers of a message as the relay should publish them.
pub fn expected_headers(message: &OutboxMessage) -> BTreeMap<String, String> {
    let mut headers = message.headers.clone();
    headers.insert("message-id".into(), message.id.to_string());
    headers.insert("message-type".into(), message.message_type.clone());
    headers.insert("schema-version".into(), message.schema_version.to_string());
    headers
}

/// Polls metric `name` of the `index`-th relay until `accept` holds; returns its value.
pub async fn wait_metric(
    stack: &mut Stack,
    index: usize,
    name: &str,
    accept: impl Fn(f64) -> bool,
    within: Duration,
) -> f64 {
    let deadline = std::time::Instant::now() + within;
    loop {
        let value = stack
            .relay_instance(SERVICE, index)
            .metric(name)
            .await
            .unwrap_or(0.0);
        if accept(value) {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "relay {index}: {name} still {value} after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the relay's published counter until it reaches `at_least`.
pub async fn wait_published(stack: &mut Stack, at_least: f64, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let published = stack
            .relay(SERVICE)
            .metric("ftgo_relay_messages_published_total")
            .await
            .unwrap_or(0.0);
        if published >= at_least {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {published} published within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
