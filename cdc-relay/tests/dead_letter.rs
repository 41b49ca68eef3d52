use std::time::Duration;

use ftgo_harness::DEAD_LETTER_TOPIC;
use platform::outbox::OutboxMessage;

use crate::support::*;

#[tokio::test]
async fn records_refused_for_good_go_to_the_dead_letter_topic_and_later_ones_flow() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let db = stack.database(SERVICE).clone();

    let too_large = OutboxMessage {
        payload: vec![b'x'; 2 * 1024 * 1024],
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

    let mut reader = stack.topic_reader(&[DEAD_LETTER_TOPIC]).unwrap();
    let letters = reader
        .read_until(Duration::from_secs(60), |r| r.len() >= 2)
        .to_vec();
    assert_eq!(letters.len(), 2, "{letters:#?}");
    let reason_for = |key: &str| {
        letters
            .iter()
            .find(|r| r.key.as_deref() == Some(key))
            .and_then(|r| r.header("dead-letter-reason"))
            .unwrap_or_else(|| panic!("no dead letter for {key}: {letters:#?}"))
            .to_owned()
    };
    assert!(
        reason_for("k2").to_lowercase().contains("size") || reason_for("k2").contains("large"),
        "{}",
        reason_for("k2")
    );
    assert!(reason_for("k3").contains("headers"), "{}", reason_for("k3"));
    let k2 = letters
        .iter()
        .find(|r| r.key.as_deref() == Some("k2"))
        .unwrap();
    assert_eq!(k2.header("dead-letter-payload-bytes"), Some("2097152"));
    assert_eq!(
        stack
            .relay(SERVICE)
            .metric("ftgo_relay_dead_letter_messages_total")
            .await,
        Some(2.0)
    );
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
