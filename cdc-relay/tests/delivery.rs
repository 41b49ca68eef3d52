use std::time::Duration;

use outbox::{self, OutboxMode};

use crate::support::*;

#[tokio::test]
async fn committed_messages_arrive_with_headers_in_commit_order_and_rollbacks_never() {
    committed_messages_arrive(OutboxMode::LogTailing).await;
}

#[tokio::test]
async fn polling_relay_publishes_committed_messages_with_headers_in_order_and_rollbacks_never() {
    committed_messages_arrive(OutboxMode::Polling).await;
}

async fn committed_messages_arrive(mode: OutboxMode) {
    let mut stack = stack_with_outbox_in(mode).await;
    start_relay_in(&mut stack, mode).await;
    let db = stack.database(SERVICE).clone();

    let all = messages(240, 7);
    let (first, rest) = all.split_at(120);
    commit_in_transactions_in(&db, first, 5, mode).await;
    // A transaction that rolls back publishes nothing, even with rows in the outbox.
    let rolled_back = messages(5, 1);
    {
        let mut client = db.connect().await.unwrap();
        let tx = client.transaction().await.unwrap();
        outbox::append(&tx, &rolled_back, mode).await.unwrap();
        tx.rollback().await.unwrap();
    }
    commit_in_transactions_in(&db, rest, 5, mode).await;

    let records = read_all(&stack, &all, Duration::from_secs(60));
    let delivery = verify(&all, &records);
    eprintln!("{delivery}");
    assert_eq!(delivery.lost, 0);
    assert_eq!(delivery.duplicates, 0);
    for message in &all {
        let record = records
            .iter()
            .find(|r| r.header("message-id") == Some(&message.id.to_string()))
            .unwrap();
        assert_eq!(record.headers, expected_headers(message));
        assert_eq!(record.payload, message.payload);
    }
    for message in &rolled_back {
        let id = message.id.to_string();
        assert!(records.iter().all(|r| r.header("message-id") != Some(&id)));
    }
    // Everything published was one of the committed messages: the relay's own count.
    let published = stack
        .relay(SERVICE)
        .metric("ftgo_relay_messages_published_total")
        .await
        .unwrap();
    assert_eq!(published, all.len() as f64);
}

#[tokio::test]
async fn sigterm_flushes_confirms_and_exits_zero() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let db = stack.database(SERVICE).clone();
    let batch = messages(500, 10);
    commit_in_transactions(&db, &batch, 10).await;
    wait_published(&mut stack, 500.0, Duration::from_secs(60)).await;

    let status = stack.relay(SERVICE).terminate().expect("relay was running");
    assert!(status.success(), "relay exited with {status}");

    // Restarted, it resumes after everything confirmed: only new messages are sent.
    let relay = stack.relay(SERVICE);
    relay.restart().await.unwrap();
    relay.wait_ready(Duration::from_secs(60)).await.unwrap();
    let later = [outbox::OutboxMessage::json(
        TOPIC,
        "after-restart",
        "TestEvent",
        1,
        &serde_json::json!({ "key": "after-restart", "seq": 0 }),
    )];
    commit_in_transactions(&db, &later, 1).await;
    let expected: Vec<_> = batch.iter().chain(later.iter()).cloned().collect();
    let records = read_all(&stack, &expected, Duration::from_secs(60));
    let delivery = verify(&expected, &records);
    eprintln!("{delivery}");
    assert_eq!(delivery.lost, 0);
    assert_eq!(
        delivery.duplicates, 0,
        "a graceful stop confirms what it published"
    );
}

#[tokio::test]
async fn metrics_and_probes_describe_the_relay() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let db = stack.database(SERVICE).clone();
    commit_in_transactions(&db, &messages(20, 2), 4).await;
    wait_published(&mut stack, 20.0, Duration::from_secs(60)).await;
    let relay = stack.relay(SERVICE);
    for name in [
        "ftgo_relay_messages_published_total",
        "ftgo_relay_dead_letter_messages_total",
        "ftgo_relay_replication_lag_bytes",
        "ftgo_relay_replication_lag_seconds",
        "ftgo_relay_confirmed_lsn",
        "ftgo_relay_streaming",
        "ftgo_relay_commit_to_ack_seconds_count",
        "process_resident_memory_bytes",
    ] {
        assert!(relay.metric(name).await.is_some(), "{name} not exposed");
    }
    assert_eq!(relay.metric("ftgo_relay_streaming").await, Some(1.0));
    assert_eq!(
        relay.metric("ftgo_relay_commit_to_ack_seconds_count").await,
        Some(20.0)
    );
    // Once per transaction (5 of 4 messages), read before it was acknowledged.
    assert_eq!(
        relay
            .metric("ftgo_relay_commit_to_read_seconds_count")
            .await,
        Some(5.0)
    );
    let (read, acked) = (
        relay.metric("ftgo_relay_commit_to_read_seconds_sum").await,
        relay.metric("ftgo_relay_commit_to_ack_seconds_sum").await,
    );
    assert!(
        read.zip(acked)
            .is_some_and(|(read, acked)| read * 4.0 <= acked),
        "commit -> read {read:?} s (each of 5) is a share of commit -> ack {acked:?} s (each of 20)"
    );
    let address = relay.http_address();
    assert_eq!(
        ftgo_harness::http::get(address, "/healthz")
            .await
            .map(|r| r.0),
        Some(200)
    );
    assert_eq!(
        ftgo_harness::http::get(address, "/readyz")
            .await
            .map(|r| r.0),
        Some(200)
    );
}

#[tokio::test]
async fn a_relay_waits_for_its_outbox_table_and_is_not_ready_meanwhile() {
    let mut stack = ftgo_harness::Stack::start().await.unwrap();
    stack.create_topic(TOPIC, 3).await.unwrap();
    let relay = stack.start_relay(SERVICE, &[]).await.unwrap();
    let (status, reason) = ftgo_harness::http::get(relay.http_address(), "/readyz")
        .await
        .unwrap();
    assert_eq!(status, 503);
    assert!(!reason.is_empty());
    // The service creates its outbox later; the relay picks it up without a restart.
    let db = stack.database(SERVICE).clone();
    outbox::schema::migrate(&mut db.connect().await.unwrap(), OutboxMode::LogTailing)
        .await
        .unwrap();
    stack
        .relay(SERVICE)
        .wait_ready(Duration::from_secs(60))
        .await
        .unwrap();
    let batch = messages(3, 1);
    commit_in_transactions(&db, &batch, 3).await;
    let records = read_all(&stack, &batch, Duration::from_secs(60));
    assert_eq!(verify(&batch, &records).lost, 0);
    let slots: i64 = db
        .connect()
        .await
        .unwrap()
        .query_one(
            "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        slots, 1,
        "the relay streams from the slot the migration created"
    );
}
