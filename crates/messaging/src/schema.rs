//! The `processed_messages` table of idempotent consumers.

use crate::Result;

mod embedded {
    refinery::embed_migrations!("migrations/messaging");
}

/// Creates or upgrades the consumers' tables (own history table, like the outbox's).
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<()> {
    let mut runner = embedded::migrations::runner();
    runner.set_migration_table_name("messaging_schema_history");
    Ok(runtime::db::run_migrations(client, runner).await?)
}
