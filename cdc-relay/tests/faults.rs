//! Crashes and outages mid-stream: nothing committed is lost.

use std::time::Duration;

use outbox::OutboxMode;

use crate::support::*;

const STREAM: usize = 10_000;

/// Commits `STREAM` messages (1,000 transactions of 10, 50 keys) in the background.
fn write_stream(
    stack: &ftgo_harness::Stack,
) -> (Vec<outbox::OutboxMessage>, tokio::task::JoinHandle<()>) {
    write_stream_in(stack, OutboxMode::LogTailing)
}

/// [`write_stream`], writing for `mode`.
fn write_stream_in(
    stack: &ftgo_harness::Stack,
    mode: OutboxMode,
) -> (Vec<outbox::OutboxMessage>, tokio::task::JoinHandle<()>) {
    let all = messages(STREAM, 50);
    let db = stack.database(SERVICE).clone();
    let writing = all.clone();
    let writer =
        tokio::spawn(async move { commit_in_transactions_in(&db, &writing, 10, mode).await });
    (all, writer)
}

#[tokio::test]
async fn relay_killed_mid_stream_loses_nothing_after_restart() {
    killed_mid_stream(OutboxMode::LogTailing).await;
}

#[tokio::test]
async fn polling_relay_killed_mid_stream_loses_nothing_after_restart() {
    killed_mid_stream(OutboxMode::Polling).await;
}

async fn killed_mid_stream(mode: OutboxMode) {
    let mut stack = stack_with_outbox_in(mode).await;
    start_relay_in(&mut stack, mode).await;
    let (all, writer) = write_stream_in(&stack, mode);

    wait_published(&mut stack, 2_000.0, Duration::from_secs(120)).await;
    stack.relay(SERVICE).kill9();
    // Measured once the relay is dead, so nothing was confirmed in between.
    let pending = unconfirmed(&stack, mode).await;
    assert!(pending > 0, "the kill hit with nothing unconfirmed");
    writer.await.unwrap();
    let relay = stack.relay(SERVICE);
    relay.restart().await.unwrap();
    relay.wait_ready(Duration::from_secs(60)).await.unwrap();

    let records = read_all(&stack, &all, Duration::from_secs(180));
    let delivery = verify(&all, &records);
    eprintln!("{mode:?}, kill -9 mid-stream ({pending} unconfirmed at the kill): {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
}

#[tokio::test]
async fn broker_paused_for_ten_seconds_mid_stream_loses_nothing() {
    broker_paused_mid_stream(OutboxMode::LogTailing).await;
}

#[tokio::test]
async fn polling_relay_with_broker_paused_for_ten_seconds_loses_nothing() {
    broker_paused_mid_stream(OutboxMode::Polling).await;
}

#[tokio::test]
async fn broker_killed_mid_stream_and_restarted_loses_nothing() {
    let mut stack = stack_with_outbox_on_own_broker(OutboxMode::LogTailing).await;
    start_relay_in(&mut stack, OutboxMode::LogTailing).await;
    let (all, writer) = write_stream(&stack);

    wait_published(&mut stack, 1_000.0, Duration::from_secs(120)).await;
    stack.broker.kill9().unwrap();
    let published_at_kill = stack
        .relay(SERVICE)
        .metric("ftgo_relay_messages_published_total")
        .await
        .unwrap_or(0.0);
    let pending = unconfirmed(&stack, OutboxMode::LogTailing).await;
    assert!(pending > 0, "the kill hit with nothing unconfirmed");
    stack.broker.restart().await.unwrap();
    writer.await.unwrap();

    let records = read_all(&stack, &all, Duration::from_secs(180));
    let delivery = verify(&all, &records);
    eprintln!(
        "broker kill -9 with {published_at_kill} of {STREAM} published, {pending} WAL bytes \
         unconfirmed: {delivery}"
    );
    assert_eq!(delivery.lost, 0, "{delivery}");
    assert!(
        stack.relay(SERVICE).is_running(),
        "the relay never exits on an outage"
    );
}

async fn broker_paused_mid_stream(mode: OutboxMode) {
    let mut stack = stack_with_outbox_on_own_broker(mode).await;
    start_relay_in(&mut stack, mode).await;
    let (all, writer) = write_stream_in(&stack, mode);

    wait_published(&mut stack, 1_000.0, Duration::from_secs(120)).await;
    stack.broker.pause().unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await; // the outage itself
    // Work waited on the broker: unconfirmed while it was away.
    let pending = unconfirmed(&stack, mode).await;
    assert!(pending > 0, "the pause hit with nothing unconfirmed");
    stack.broker.resume().unwrap();
    writer.await.unwrap();

    let records = read_all(&stack, &all, Duration::from_secs(180));
    let delivery = verify(&all, &records);
    eprintln!("{mode:?}, broker paused 10 s ({pending} unconfirmed during it): {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
    assert!(
        stack.relay(SERVICE).is_running(),
        "the relay never exits on an outage"
    );
}

#[tokio::test]
async fn postgres_restarted_mid_stream_relay_reconnects_and_loses_nothing() {
    let mut stack = stack_with_outbox().await;
    // Commit a backlog first so the restart lands while the relay drains it.
    let (first, writer) = write_stream(&stack);
    writer.await.unwrap();
    start_relay(&mut stack, &[]).await;
    wait_published(&mut stack, 500.0, Duration::from_secs(120)).await;
    let pending = unconfirmed(&stack, OutboxMode::LogTailing).await;
    assert!(pending > 0, "the restart hit with nothing unconfirmed");
    stack.postgres.restart().await.unwrap();

    let db = stack.database(SERVICE).clone();
    let second = keyed_messages("after-restart", 1_000, 50);
    commit_in_transactions(&db, &second, 10).await;
    let all: Vec<_> = first.iter().chain(&second).cloned().collect();
    let records = read_all(&stack, &all, Duration::from_secs(180));
    let delivery = verify(&all, &records);
    eprintln!("postgres restarted mid-stream ({pending} WAL bytes unconfirmed): {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
    let relay = stack.relay(SERVICE);
    assert!(relay.is_running());
    assert!(
        relay
            .metric("ftgo_relay_sessions_started_total")
            .await
            .unwrap()
            >= 2.0
    );
}

/// Two relays on one slot, as two replicas are when the Lease is not (yet) decisive: the
/// slot (in polling mode, the poller lock) is the fence. The second is refused and keeps waiting without streaming; when
/// the first is killed, it takes over and nothing is lost.
#[tokio::test]
async fn second_relay_on_the_slot_waits_and_takes_over_after_kill9() {
    second_relay_waits_and_takes_over(OutboxMode::LogTailing).await;
}

/// The same in polling mode, where the fence is the poller's advisory lock.
#[tokio::test]
async fn second_polling_relay_waits_for_the_lock_and_takes_over_after_kill9() {
    second_relay_waits_and_takes_over(OutboxMode::Polling).await;
}

async fn second_relay_waits_and_takes_over(mode: OutboxMode) {
    // Short retries, so the takeover does not wait out a long backoff.
    let mut env = vec![("FTGO_RELAY__MAX_BACKOFF_MS", "500")];
    if mode == OutboxMode::Polling {
        env.extend([
            ("FTGO_MODE", "polling"),
            ("FTGO_POLLING__INTERVAL_MS", "20"),
        ]);
    }
    let mut stack = stack_with_outbox_in(mode).await;
    start_relay(&mut stack, &env).await;
    stack.start_relay(SERVICE, &env).await.unwrap();
    let within = Duration::from_secs(60);

    let refused = wait_metric(
        &mut stack,
        1,
        "ftgo_relay_errors_total",
        |n| n >= 1.0,
        within,
    )
    .await;
    let standby = stack.relay_instance(SERVICE, 1).http_address();
    let (status, reason) = ftgo_harness::http::get(standby, "/readyz").await.unwrap();
    assert_eq!(status, 503, "{reason}");
    let fenced = match mode {
        OutboxMode::LogTailing => "being streamed by another process",
        OutboxMode::Polling => "holds the poller lock",
    };
    assert!(reason.contains(fenced), "{reason}");

    let first = messages(2_000, 50);
    commit_in_transactions_in(stack.database(SERVICE), &first, 10, mode).await;
    let delivery = verify(&first, &read_all(&stack, &first, Duration::from_secs(120)));
    eprintln!("first relay streaming, second refused: {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
    let published = "ftgo_relay_messages_published_total";
    assert_eq!(stack.relay(SERVICE).metric(published).await, Some(2_000.0));
    let standby = stack.relay_instance(SERVICE, 1);
    assert_eq!(standby.metric(published).await, Some(0.0));
    assert_eq!(standby.metric("ftgo_relay_streaming").await, Some(0.0));
    assert_eq!(
        standby.metric("ftgo_relay_sessions_started_total").await,
        Some(0.0)
    );
    let retried = standby.metric("ftgo_relay_errors_total").await.unwrap();
    assert!(
        retried > refused,
        "it keeps retrying: {refused} then {retried}"
    );

    stack.relay(SERVICE).kill9();
    let taken_over = std::time::Instant::now();
    wait_metric(&mut stack, 1, "ftgo_relay_streaming", |s| s == 1.0, within).await;
    eprintln!(
        "second relay streaming {:?} after kill -9 of the first",
        taken_over.elapsed()
    );
    let second = keyed_messages("after-takeover", 2_000, 50);
    commit_in_transactions_in(stack.database(SERVICE), &second, 10, mode).await;
    let all: Vec<_> = first.iter().chain(&second).cloned().collect();
    let delivery = verify(&all, &read_all(&stack, &all, Duration::from_secs(120)));
    eprintln!("after the takeover: {delivery}");
    assert_eq!(delivery.lost, 0, "{delivery}");
    let by_second = stack.relay_instance(SERVICE, 1).metric(published).await;
    assert!(by_second >= Some(2_000.0), "{by_second:?}");
}
