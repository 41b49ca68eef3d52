//! The polling publisher's own case: sequence values taken in one order, committed in
//! the other. (Its no-loss and order tests under faults are the relay's, run in both
//! modes: see `delivery` and `faults`.)

use std::time::{Duration, Instant};

use ftgo_harness::load::{self, Kind, Mix, Pacing, Plan, Target, Until};
use ftgo_harness::{SERVICE_BINARIES, Stack, StackOptions};
use outbox::{self, OutboxMode};

use crate::support::*;

/// Transaction A takes the lower sequence and stays open while B, with the higher one,
/// commits. A cursor `sequence > last` would move past A's row when it publishes B's and
/// never see it. The poller publishes neither while A runs, then both, A's first.
#[tokio::test]
async fn row_committed_after_a_higher_sequence_is_not_skipped_and_keeps_its_place() {
    let mode = OutboxMode::Polling;
    let mut stack = stack_with_outbox_in(mode).await;
    start_relay_in(&mut stack, mode).await;
    let db = stack.database(SERVICE).clone();
    // One aggregate: A's message (seq 0 of the key) must come before B's (seq 1).
    let both = keyed_messages("interleaved", 2, 1);

    let mut client_a = db.connect().await.unwrap();
    let tx_a = client_a.transaction().await.unwrap();
    outbox::append(&tx_a, &both[..1], mode).await.unwrap();
    let sequence_a: i64 = tx_a
        .query_one("SELECT sequence FROM outbox", &[])
        .await
        .unwrap()
        .get(0);
    commit_in_transactions_in(&db, &both[1..], 1, mode).await;

    let observer = db.connect().await.unwrap();
    let visible: Vec<i64> = observer
        .query("SELECT sequence FROM outbox ORDER BY sequence", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(visible.len(), 1, "only B's row is visible: {visible:?}");
    assert!(
        visible[0] > sequence_a,
        "B's row ({visible:?}) is past A's ({sequence_a}): a naive cursor would skip A"
    );
    // Polls go on (B's row, seen, ages: the lag) and publish nothing.
    let published = "ftgo_relay_messages_published_total";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let relay = stack.relay(SERVICE);
        let sent = relay.metric(published).await.unwrap_or(0.0);
        assert_eq!(sent, 0.0, "B went past A, which is still open");
        let lag = relay
            .metric("ftgo_relay_replication_lag_seconds")
            .await
            .unwrap_or(0.0);
        if lag > 0.2 {
            break;
        }
        assert!(Instant::now() < deadline, "the poller never saw B's row");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let kept = observer
        .query_one("SELECT count(*) FROM outbox", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(kept, 1, "B's row waits in the table");

    tx_a.commit().await.unwrap();
    let records = read_all(&stack, &both, Duration::from_secs(60));
    let delivery = verify(&both, &records);
    eprintln!("out-of-order commit: {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
    assert_eq!(delivery.duplicates, 0, "{delivery}");
    assert_eq!(
        stack.relay(SERVICE).metric(published).await,
        Some(2.0),
        "both published once"
    );
    let remaining: i64 = observer
        .query_one("SELECT count(*) FROM outbox", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(remaining, 0, "published rows are deleted");
}

/// The whole system in polling mode on a server without logical decoding
/// (`wal_level=replica`): the services migrate without a slot or publication, keep their
/// outbox rows, and the polling relays carry the order flow's commands, replies and events.
#[tokio::test]
async fn the_order_flow_runs_in_polling_mode_without_logical_replication() {
    let polling = |key: &str| (key.to_owned(), "polling".to_owned());
    let options = StackOptions {
        without_logical_replication: true,
        services: true,
        relay_env: vec![
            polling("FTGO_MODE"),
            ("FTGO_POLLING__INTERVAL_MS".into(), "20".into()),
        ],
        service_env: SERVICE_BINARIES
            .iter()
            .map(|binary| {
                let (key, value) = polling("FTGO_OUTBOX__MODE");
                ((*binary).to_owned(), key, value)
            })
            .collect(),
        ..StackOptions::default()
    };
    let mut stack = Stack::start_with(options).await.unwrap();
    let admin = stack.postgres.superuser("postgres").await.unwrap();
    let wal_level: String = admin.query_one("SHOW wal_level", &[]).await.unwrap().get(0);
    assert_eq!(wal_level, "replica");

    // Two good orders and one with an item not on the menu, followed to their outcomes.
    let plan = Plan {
        mix: Mix::one_in(Kind::OffMenu, 2),
        pacing: Pacing {
            rate: 100.0,
            until: Until::Count(3),
            in_flight: 3,
        },
        deadline: Duration::from_secs(60),
    };
    let target = Target::from_addresses(&stack.addresses()).unwrap();
    let report = load::run(&target, plan, |_| {}).await.unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!((report.validated, report.rejected), (2, 1), "{report}");
    let slots: i64 = admin
        .query_one("SELECT count(*) FROM pg_replication_slots", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(slots, 0, "no replication slot anywhere");
    let published = stack
        .relay(SERVICE)
        .metric("ftgo_relay_messages_published_total")
        .await
        .unwrap();
    assert!(
        published >= 3.0,
        "order-service's relay published {published}"
    );
}
