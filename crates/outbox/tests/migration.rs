//! The outbox table's migration against a real PostgreSQL.

use ftgo_harness::Stack;

/// Log tailing needs the slot from the first outbox message on; the migration used to
/// skip creating it, quietly, when the role could not replicate.
#[tokio::test]
async fn log_tailing_migration_without_replication_fails_saying_what_to_do() {
    let stack = Stack::start().await.unwrap();
    let db = stack.database("consumer_service");
    stack
        .postgres
        .superuser("postgres")
        .await
        .unwrap()
        .batch_execute("ALTER ROLE consumer_service NOREPLICATION")
        .await
        .unwrap();
    let mut client = db.connect().await.unwrap();
    let error = outbox::schema::migrate(&mut client, outbox::OutboxMode::LogTailing)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("lacks the REPLICATION attribute"), "{error}");
    assert!(
        error.contains("polling"),
        "the hint names the way out: {error}"
    );
    // Polling mode needs neither the attribute nor a slot.
    outbox::schema::migrate(&mut client, outbox::OutboxMode::Polling)
        .await
        .unwrap();
}
