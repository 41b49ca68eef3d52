//! The outbox table's migration and the names the relay decodes rows by.

use crate::{OutboxMode, Result};

/// The table name (in the `public` schema).
pub const TABLE: &str = "outbox";

/// The publication of the outbox table's inserts, created by the migration.
pub const PUBLICATION: &str = "ftgo_outbox";

/// The logical replication slot of `database`'s outbox. Slot names are unique per
/// cluster, so the database name is part of it; the migration creates the slot under
/// this same name (see `migrations/outbox/V2__outbox_capture.sql`).
pub fn slot_name(database: &str) -> String {
    let sanitized: String = database
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("ftgo_outbox_{sanitized}")
}

/// Column names, as the relay finds them in pgoutput's Relation message.
pub mod columns {
    /// Message id (uuid).
    pub const ID: &str = "id";
    /// Destination channel (text).
    pub const DESTINATION: &str = "destination";
    /// Kafka key (text).
    pub const MESSAGE_KEY: &str = "message_key";
    /// Message type (text).
    pub const MESSAGE_TYPE: &str = "message_type";
    /// Schema version (integer).
    pub const SCHEMA_VERSION: &str = "schema_version";
    /// Headers (jsonb object of strings).
    pub const HEADERS: &str = "headers";
    /// Payload (bytea).
    pub const PAYLOAD: &str = "payload";
}

mod embedded {
    refinery::embed_migrations!("migrations/outbox");
}

/// The migrations of log tailing (publication and slot; the slot checked and recorded in
/// `ftgo_relay_slots`): polling mode skips them.
const CAPTURE_VERSIONS: [i64; 2] = [2, 4];

/// The table recording each replication slot's creation (migration V4; the relay creates
/// it for a table it captures without these migrations).
pub const SLOTS_TABLE: &str = "ftgo_relay_slots";

/// Creates or upgrades the outbox table. In log tailing mode it also starts capturing it:
/// the publication, and the replication slot when the role has the `REPLICATION`
/// attribute. In polling mode that migration is left out, so the database needs neither
/// `wal_level=logical` nor a slot (a database switched from log tailing keeps its applied
/// capture migration, logged as not found; drop its slot, see docs/architecture.md).
/// Its history lives in its own table (`outbox_schema_history`), so each service keeps its
/// own migrations independent.
pub async fn migrate(client: &mut tokio_postgres::Client, mode: OutboxMode) -> Result<()> {
    let mut runner = embedded::migrations::runner();
    if mode == OutboxMode::Polling {
        let migrations: Vec<_> = runner
            .get_migrations()
            .iter()
            .filter(|m| !CAPTURE_VERSIONS.contains(&i64::from(m.version())))
            .cloned()
            .collect();
        runner = refinery::Runner::new(&migrations).set_abort_missing(false);
    }
    runner.set_migration_table_name("outbox_schema_history");
    Ok(runtime::db::run_migrations(client, runner).await?)
}
