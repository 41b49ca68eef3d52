//! A replication slot that existed and vanished (failover, `max_slot_wal_keep_size`, a
//! drop by hand) is not recreated past the messages it held: the relay refuses to stream
//! until an operator accepts the gap.

use std::time::{Duration, Instant};

use ftgo_harness::http;

use crate::support::*;

#[tokio::test]
async fn a_vanished_slot_is_not_recreated_until_an_operator_accepts_the_gap() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let db = stack.database(SERVICE).clone();
    let before = messages(10, 2);
    commit_in_transactions(&db, &before, 2).await;
    assert_eq!(
        verify(&before, &read_all(&stack, &before, Duration::from_secs(60))).lost,
        0
    );

    let exit = stack.relay(SERVICE).terminate();
    assert!(exit.is_some_and(|s| s.success()), "{exit:?}");
    let client = db.connect().await.unwrap();
    let slot = outbox::schema::slot_name(SERVICE);
    client
        .query_one("SELECT pg_drop_replication_slot($1)", &[&slot])
        .await
        .unwrap();
    // Written while no slot held the WAL: no stream will ever carry these.
    let gone = keyed_messages("gone", 5, 1);
    commit_in_transactions(&db, &gone, 1).await;

    let relay = stack.relay(SERVICE);
    relay.restart().await.unwrap();
    let address = relay.http_address();
    let deadline = Instant::now() + Duration::from_secs(60);
    while relay.metric("ftgo_relay_slot_lost").await != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "the relay did not report the lost slot (readyz: {:?})",
            http::get(address, "/readyz").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, reason) = http::get(address, "/readyz").await.unwrap();
    assert_eq!(status, 503, "{reason}");
    assert!(reason.contains("slot"), "{reason}");
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap();
    assert!(exists.is_none(), "the slot was recreated");

    // The operator accepts the gap for one start.
    let exit = stack.relay(SERVICE).terminate();
    assert!(exit.is_some_and(|s| s.success()), "{exit:?}");
    start_relay(&mut stack, &[("FTGO_RELAY__ACCEPT_SLOT_LOSS", "true")]).await;
    let log = std::fs::read_to_string(stack.relay_instance(SERVICE, 1).log_path()).unwrap();
    assert!(
        log.contains("accepted the loss of the replication slot"),
        "{log}"
    );
    assert!(
        log.contains("skipped_from"),
        "the skipped range is logged: {log}"
    );
    let after = keyed_messages("after", 10, 2);
    commit_in_transactions(&db, &after, 2).await;
    assert_eq!(
        verify(&after, &read_all(&stack, &after, Duration::from_secs(60))).lost,
        0
    );
}
