use std::time::Duration;

use ftgo_harness::DEAD_LETTER_TOPIC;
use platform::outbox::OutboxMessage;

use crate::support::*;

#[tokio::test]
async fn records_refused_for_good_go_to_the_dead_letter_topic_and_later_ones_flow() {
    let mut stack = stack_with_outbox().await;
    // Fail fast on a topic that does not exist (librdkafka waits 30 s by default).
    start_relay(
        &mut stack,
        &[(
            "FTGO_KAFKA__PROPERTIES__TOPIC_METADATA_PROPAGATION_MAX_MS",
            "1000",
        )],
    )
    .await;
    let db = stack.database(SERVICE).clone();

    let to_missing_topic = OutboxMessage::json(
        "no.such.topic",
        "k1",
        "TestEvent",
        1,
        &serde_json::json!({}),
    );
    let too_large = OutboxMessage {
        payload: vec![b'x'; 2 * 1024 * 1024],
        ..OutboxMessage::json(TOPIC, "k2", "TestEvent", 1, &serde_json::json!({}))
    };
    commit_in_transactions(&db, &[to_missing_topic.clone(), too_large.clone()], 1).await;
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
        .read_until(Duration::from_secs(60), |r| r.len() >= 3)
        .to_vec();
    assert_eq!(letters.len(), 3, "{letters:#?}");
    let reason_for = |key: &str| {
        letters
            .iter()
            .find(|r| r.key.as_deref() == Some(key))
            .and_then(|r| r.header("dead-letter-reason"))
            .unwrap_or_else(|| panic!("no dead letter for {key}: {letters:#?}"))
            .to_owned()
    };
    assert!(
        reason_for("k1").to_lowercase().contains("topic"),
        "{}",
        reason_for("k1")
    );
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
    let k1 = letters
        .iter()
        .find(|r| r.key.as_deref() == Some("k1"))
        .unwrap();
    // The Kafka topic it was meant for (with the stack's prefix on a shared broker).
    assert_eq!(
        k1.header("dead-letter-original-topic"),
        Some(stack.topic("no.such.topic").as_str())
    );
    assert_eq!(
        k1.header("message-id"),
        Some(to_missing_topic.id.to_string().as_str())
    );
    assert_eq!(
        stack
            .relay(SERVICE)
            .metric("ftgo_relay_dead_letter_messages_total")
            .await,
        Some(3.0)
    );
}
