//! A relay and its service start together: the relay may find the outbox table before
//! the service's capture migrations have all run. Whatever the relay creates meanwhile
//! (publication, slot, the slot's record) must not leave those migrations failing.

use std::time::{Duration, Instant};

use crate::support::*;

/// The interleaving CI met: the relay recorded its slot in `ftgo_relay_slots` before
/// the service's migration V4 (which creates that table) ran. Rewinding a migrated
/// database to "V3 applied" reproduces it exactly; V4 must then still apply, and keep the
/// relay's record.
#[tokio::test]
async fn the_capture_migration_applies_after_a_relay_recorded_its_slot_first() {
    let mut stack = stack_with_outbox().await;
    let db = stack.database(SERVICE).clone();
    let client = db.connect().await.unwrap();
    let table = outbox::schema::SLOTS_TABLE;
    client
        .batch_execute(&format!(
            "DELETE FROM outbox_schema_history WHERE version = 4; DROP TABLE {table};"
        ))
        .await
        .unwrap();

    start_relay(&mut stack, &[]).await;
    let slot = outbox::schema::slot_name(SERVICE);
    let deadline = Instant::now() + Duration::from_secs(30);
    let recorded = loop {
        let row = client
            .query_opt(
                &format!("SELECT created_lsn::text FROM {table} WHERE slot_name = $1"),
                &[&slot],
            )
            .await;
        if let Ok(Some(row)) = row {
            break row.get::<_, String>(0);
        }
        assert!(
            Instant::now() < deadline,
            "the relay never recorded its slot"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let mut client = db.connect().await.unwrap();
    outbox::schema::migrate(&mut client, outbox::OutboxMode::LogTailing)
        .await
        .expect("V4 applies over the relay's record");
    let after: String = client
        .query_one(
            &format!("SELECT created_lsn::text FROM {table} WHERE slot_name = $1"),
            &[&slot],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(after, recorded, "the relay's record is kept");

    // And the relay still publishes what is written now.
    let sent = messages(10, 2);
    commit_in_transactions(&db, &sent, 2).await;
    assert_eq!(
        verify(&sent, &read_all(&stack, &sent, Duration::from_secs(60))).lost,
        0
    );
}
