//! A quiet outbox must not pin WAL that other tables write.

use std::time::{Duration, Instant};

use crate::support::*;

const MB: i64 = 1024 * 1024;

#[tokio::test]
async fn idle_outbox_does_not_hold_back_wal_written_by_other_tables() {
    let mut stack = stack_with_outbox().await;
    start_relay(&mut stack, &[]).await;
    let db = stack.database(SERVICE).clone();
    let client = db.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE ballast (id bigserial PRIMARY KEY, pad text NOT NULL)")
        .await
        .unwrap();
    let start = wal_position(&client).await;
    // About 55 MB of WAL in 110 transactions, none touching the outbox.
    for _ in 0..110 {
        client
            .batch_execute("INSERT INTO ballast (pad) SELECT repeat(md5(g::text), 16) FROM generate_series(1, 800) g")
            .await
            .unwrap();
    }
    let written = wal_position(&client).await - start;
    assert!(written >= 50 * MB, "only {written} bytes of WAL written");

    let slot_lag = "SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint,
                           (pg_current_wal_lsn() - restart_lsn)::bigint
                    FROM pg_replication_slots WHERE slot_name = 'ftgo_outbox_order_service'";
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut confirmed_lag, mut restart_lag): (i64, i64);
    loop {
        // A checkpoint logs the running transactions, which lets restart_lsn move.
        client.batch_execute("CHECKPOINT").await.ok();
        let row = client.query_one(slot_lag, &[]).await.unwrap();
        (confirmed_lag, restart_lag) = (row.get(0), row.get(1));
        if confirmed_lag < MB && restart_lag < 16 * MB {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "slot lags {confirmed_lag} bytes (confirmed) and {restart_lag} (restart) after {written} bytes of WAL"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "after {} MB of other WAL: confirmed_flush lag {} bytes, restart_lsn lag {} bytes",
        written / MB,
        confirmed_lag,
        restart_lag
    );
}

async fn wal_position(client: &tokio_postgres::Client) -> i64 {
    client
        .query_one("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint", &[])
        .await
        .unwrap()
        .get(0)
}
