use std::time::Duration;

use ftgo_harness::DEAD_LETTER_TOPIC;
use ftgo_harness::ServiceDatabase;
use ftgo_harness::kafka::ReceivedRecord;
use outbox::{OutboxMessage, OutboxMode};

use crate::support::*;

/// A dead letter's row in the relay's dead-letter table: (topic, key, headers, payload,
/// reason).
type KeptLetter = (
    Option<String>,
    Option<String>,
    Vec<(String, Option<Vec<u8>>)>,
    Vec<u8>,
    String,
);

/// The row a dead-letter notice names (its `dead-letter-table` and `dead-letter-id`).
async fn kept(db: &ServiceDatabase, notice: &ReceivedRecord) -> KeptLetter {
    let table = notice
        .header("dead-letter-table")
        .expect("the notice names its table");
    let id: i64 = notice
        .header("dead-letter-id")
        .expect("the notice names its row")
        .parse()
        .unwrap();
    let row = db
        .connect()
        .await
        .unwrap()
        .query_one(
            &format!(
                "SELECT topic, message_key, header_names, header_values, payload, reason
                 FROM {table} WHERE id = $1"
            ),
            &[&id],
        )
        .await
        .unwrap();
    let names: Vec<String> = row.get(2);
    let values: Vec<Option<Vec<u8>>> = row.get(3);
    (
        row.get(0),
        row.get(1),
        names.into_iter().zip(values).collect(),
        row.get(4),
        row.get(5),
    )
}

/// Every notice on the dead-letter topic, read to its end once `at_least` arrived.
fn dead_letter_notices(stack: &ftgo_harness::Stack, at_least: usize) -> Vec<ReceivedRecord> {
    let mut reader = stack.topic_reader(&[DEAD_LETTER_TOPIC]).unwrap();
    reader.read_until(Duration::from_secs(60), |r| r.len() >= at_least);
    reader
        .read_to_end(Duration::from_secs(10))
        .unwrap()
        .to_vec()
}

fn notice_for<'a>(letters: &'a [ReceivedRecord], key: &str) -> &'a ReceivedRecord {
    letters
        .iter()
        .find(|r| r.key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no dead letter for {key}: {letters:#?}"))
}

#[tokio::test]
async fn records_refused_for_good_are_kept_whole_announced_and_later_ones_flow() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let db = stack.database(SERVICE).clone();

    let too_large = OutboxMessage {
        payload: (0..2 * 1024 * 1024).map(|i| (i % 251) as u8).collect(),
        ..OutboxMessage::json(TOPIC, "k2", "TestEvent", 1, &serde_json::json!({}))
    };
    commit_in_transactions(&db, std::slice::from_ref(&too_large), 1).await;
    // A row written by hand whose headers are not an object cannot be decoded.
    db.connect()
        .await
        .unwrap()
        .batch_execute(
            "INSERT INTO outbox (id, destination, message_key, message_type, schema_version, headers, payload)
             VALUES (gen_random_uuid(), 'relay.test.events', 'k3', 'TestEvent', 1, '[1]', '\\x7b7d')",
        )
        .await
        .unwrap();
    let fine = messages(3, 1);
    commit_in_transactions(&db, &fine, 1).await;

    let records = read_all(&stack, &fine, Duration::from_secs(60));
    assert_eq!(verify(&fine, &records).lost, 0, "later messages still flow");

    let letters = dead_letter_notices(&stack, 2);
    assert_eq!(letters.len(), 2, "{letters:#?}");
    let k2 = notice_for(&letters, "k2");
    let reason = k2.header("dead-letter-reason").unwrap().to_lowercase();
    assert!(
        reason.contains("size") || reason.contains("large"),
        "{reason}"
    );
    assert_eq!(k2.header("dead-letter-payload-bytes"), Some("2097152"));
    let k3 = notice_for(&letters, "k3");
    assert!(k3.header("dead-letter-reason").unwrap().contains("headers"));

    // The originals, whole, in the service's own database.
    let (topic, key, headers, payload, _) = kept(&db, k2).await;
    assert_eq!(topic.as_deref(), Some(stack.topic(TOPIC).as_str()));
    assert_eq!(key.as_deref(), Some("k2"));
    assert_eq!(
        payload, too_large.payload,
        "the 2 MiB payload is kept whole"
    );
    assert!(
        headers.contains(&(
            "message-id".to_owned(),
            Some(too_large.id.to_string().into_bytes())
        )),
        "{headers:?}"
    );
    let (_, key, _, row, reason) = kept(&db, k3).await;
    assert_eq!(key.as_deref(), Some("k3"));
    assert!(
        String::from_utf8_lossy(&row).contains("\"headers\""),
        "the raw row is kept"
    );
    assert!(reason.contains("headers"), "{reason}");
    assert_eq!(
        stack
            .relay(SERVICE)
            .metric("ftgo_relay_dead_letter_messages_total")
            .await,
        Some(2.0)
    );
}

/// A record refused for its headers (1.5 MB of them): the dead-letter topic refuses a
/// notice carrying them too. The relay announces it bare, keeps the original whole in
/// the table, and goes on; before, it replayed the record forever with the slot pinned.
#[tokio::test]
async fn a_record_refused_for_its_headers_does_not_stall_the_relay() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let db = stack.database(SERVICE).clone();

    let mut heavy = OutboxMessage::json(TOPIC, "kh", "TestEvent", 1, &serde_json::json!({}));
    let big_header = "h".repeat(1_500_000);
    heavy.headers.insert("x-big".into(), big_header.clone());
    commit_in_transactions(&db, std::slice::from_ref(&heavy), 1).await;
    let after = keyed_messages("after", 5, 1);
    commit_in_transactions(&db, &after, 1).await;

    let records = read_all(&stack, &after, Duration::from_secs(60));
    assert_eq!(verify(&after, &records).lost, 0, "the relay went on");

    let letters = dead_letter_notices(&stack, 1);
    assert_eq!(letters.len(), 1, "announced once: {letters:#?}");
    let notice = notice_for(&letters, "kh");
    assert!(notice.header("x-big").is_none(), "the notice is bare");
    let (_, _, headers, payload, _) = kept(&db, notice).await;
    assert!(
        headers.contains(&("x-big".to_owned(), Some(big_header.into_bytes()))),
        "the header is kept whole"
    );
    assert_eq!(payload, heavy.payload);
}

/// In polling mode the relay deletes a row once its record is acknowledged: a record
/// dead-lettered for its size is kept whole in the table before its row goes.
#[tokio::test]
async fn polling_keeps_a_refused_record_whole_before_deleting_its_row() {
    let mut stack = stack_with_outbox_in(OutboxMode::Polling).await;
    start_relay_in(&mut stack, OutboxMode::Polling).await;
    let db = stack.database(SERVICE).clone();
    let too_large = OutboxMessage {
        payload: vec![7; 1_500_000],
        ..OutboxMessage::json(TOPIC, "kp", "TestEvent", 1, &serde_json::json!({}))
    };
    commit_in_transactions_in(
        &db,
        std::slice::from_ref(&too_large),
        1,
        OutboxMode::Polling,
    )
    .await;
    let after = keyed_messages("after", 3, 1);
    commit_in_transactions_in(&db, &after, 1, OutboxMode::Polling).await;
    let records = read_all(&stack, &after, Duration::from_secs(60));
    assert_eq!(verify(&after, &records).lost, 0);

    let letters = dead_letter_notices(&stack, 1);
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let (_, _, _, payload, _) = kept(&db, notice_for(&letters, "kp")).await;
    assert_eq!(payload, too_large.payload, "kept whole");
    let left: i64 = db
        .connect()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM outbox", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "every row was handled and deleted");
}

/// A topic created late (or an ACL still rolling out) is something an operator fixes:
/// the record waits for it, retried with backoff and counted, and is published in its
/// place, before the later records of its key. It is never dead-lettered.
#[tokio::test]
async fn a_record_for_a_topic_not_created_yet_waits_for_it_and_keeps_its_place() {
    const LATE: &str = "relay.test.late";
    let mut stack = stack_with_outbox().await;
    start_relay(
        &mut stack,
        &[
            // Fail fast on a missing topic (librdkafka waits 30 s by default).
            (
                "FTGO_KAFKA__PROPERTIES__TOPIC_METADATA_PROPAGATION_MAX_MS",
                "1000",
            ),
            ("FTGO_RELAY__MAX_BACKOFF_MS", "1000"),
        ],
    )
    .await;
    let db = stack.database(SERVICE).clone();
    let first = OutboxMessage::json(LATE, "k", "TestEvent", 1, &serde_json::json!({"n": 1}));
    commit_in_transactions(&db, std::slice::from_ref(&first), 1).await;

    // The relay met the missing topic: a failed session, or (before this was fixed) a
    // dead letter.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let relay = stack.relay(SERVICE);
        let failed = relay.metric("ftgo_relay_errors_total").await.unwrap_or(0.0);
        let dead = relay
            .metric("ftgo_relay_dead_letter_messages_total")
            .await
            .unwrap_or(0.0);
        if failed > 0.0 || dead > 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the relay never tried"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let second = OutboxMessage::json(LATE, "k", "TestEvent", 1, &serde_json::json!({"n": 2}));
    commit_in_transactions(&db, std::slice::from_ref(&second), 1).await;
    stack.create_topic(LATE, 3).await.unwrap();

    let ids = [first.id.to_string(), second.id.to_string()];
    let mut reader = stack.topic_reader(&[LATE]).unwrap();
    let records = reader
        .read_until(Duration::from_secs(60), |records| {
            ids.iter()
                .all(|id| records.iter().any(|r| r.header("message-id") == Some(id)))
        })
        .to_vec();
    let position = |id: &str| {
        records
            .iter()
            .position(|r| r.header("message-id") == Some(id))
            .unwrap_or_else(|| panic!("{id} never published: {records:#?}"))
    };
    assert!(
        position(&ids[0]) < position(&ids[1]),
        "the waiting record was overtaken: {records:#?}"
    );
    let dead = stack
        .relay(SERVICE)
        .metric("ftgo_relay_dead_letter_messages_total")
        .await
        .unwrap_or(0.0);
    assert_eq!(dead, 0.0, "nothing was dead-lettered");
}

/// Brokers here do not auto-create topics: the relay creates its dead-letter topic
/// (`kafka.topics` shapes it) before it streams, so the first dead letter has somewhere
/// to go.
#[tokio::test]
async fn the_relay_creates_its_dead_letter_topic() {
    const OWN: &str = "relay.test.own-dead-letters";
    let mut stack = stack_with_outbox().await;
    assert_eq!(stack.partitions(OWN).unwrap(), 0, "not there before");
    start_relay(&mut stack, &[("FTGO_RELAY__DEAD_LETTER_TOPIC", OWN)]).await;
    assert_eq!(stack.partitions(OWN).unwrap(), 3, "kafka.topics.partitions");
}
