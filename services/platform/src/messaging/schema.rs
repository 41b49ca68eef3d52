//! The `processed_messages` table of idempotent consumers.

use crate::{Error, Result};

mod embedded {
    refinery::embed_migrations!("migrations/messaging");
}

/// Creates or upgrades the consumers' tables (own history table, like the outbox's).
pub async fn migrate(client: &mut tokio_postgres::Client) -> Result<()> {
    embedded::migrations::runner()
        .set_migration_table_name("messaging_schema_history")
        .run_async(client)
        .await
        .map(|_| ())
        .map_err(|e| Error::Migration(e.to_string()))
}
