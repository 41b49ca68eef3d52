//! The durable home of dead letters: a table in the source database itself.
//!
//! In log tailing mode the WAL is a message's only copy until the relay publishes it (the
//! service deletes its outbox row in the same transaction); in polling mode the relay
//! deletes the row once the record is acknowledged. So a record that can never be
//! delivered must be kept whole somewhere before its position is confirmed, and the
//! dead-letter topic cannot be that place: it refuses what the broker refused for size,
//! and it refuses a record whose headers alone are too large. The table takes any size
//! (bytea up to 1 GB), sits next to the data the message came from, and is written before
//! the notice goes to the topic; the notice then names its row.
//!
//! Each row is keyed by the message's [`Origin`], so a letter written again after a
//! session replayed its WAL (the notice's delivery failed and the position was not
//! confirmed) is kept once.

use std::collections::HashMap;

use runtime::config::DatabaseSettings;
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use super::{DeadLetter, Origin, Retry};

/// The table's name, in the outbox table's schema.
pub const TABLE: &str = "ftgo_relay_dead_letters";

/// Keeps dead letters in [`TABLE`], connecting (and creating the table) on first use.
pub struct DeadLetterStore {
    database: DatabaseSettings,
    /// `schema.table`, quoted.
    table: String,
    client: Mutex<Option<Client>>,
    /// The origins kept by this process, with their reason: a record the broker refused
    /// stops the producer (it would leave a gap), so when the session replays, the
    /// record is dead-lettered again without being offered to the broker a second time.
    kept: std::sync::Mutex<HashMap<Origin, String>>,
}

impl std::fmt::Debug for DeadLetterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DeadLetterStore {
    /// A store in `schema` of the database `database` names (the outbox table's).
    pub fn new(database: &DatabaseSettings, schema: &str) -> Self {
        Self {
            database: database.clone(),
            table: format!(
                "{}.{}",
                crate::source::quote_ident(schema),
                crate::source::quote_ident(TABLE)
            ),
            client: Mutex::new(None),
            kept: std::sync::Mutex::default(),
        }
    }

    /// Why the record from `origin` was dead-lettered by this process before, if it was.
    pub fn refused_before(&self, origin: &Origin) -> Option<String> {
        self.kept_origins().get(origin).cloned()
    }

    fn kept_origins(&self) -> std::sync::MutexGuard<'_, HashMap<Origin, String>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The table, as `schema.table` (for the notice's header and the log).
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Keeps `letter` whole and returns its row's id. A failure (the database
    /// unreachable, the table not creatable) is a [`Retry`]: the record's position stays
    /// unconfirmed, so nothing is lost while the store is unavailable.
    pub async fn keep(&self, letter: &DeadLetter, origin: &Origin) -> Result<i64, Retry> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(self.connect().await.map_err(store_failed)?);
        }
        let client = guard.as_ref().expect("connected above");
        let (names, values): (Vec<&str>, Vec<Option<&[u8]>>) = letter
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .unzip();
        let statement = format!(
            "INSERT INTO {} (origin, topic, message_key, header_names, header_values, payload, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (origin) DO UPDATE SET reason = EXCLUDED.reason
             RETURNING id",
            self.table
        );
        let row = client
            .query_one(
                &statement,
                &[
                    &origin.to_string(),
                    &letter.original_topic,
                    &letter.key,
                    &names,
                    &values,
                    &letter.payload,
                    &letter.reason,
                ],
            )
            .await;
        match row {
            Ok(row) => {
                self.kept_origins().insert(*origin, letter.reason.clone());
                Ok(row.get(0))
            }
            Err(e) => {
                *guard = None;
                Err(store_failed(runtime::Error::Database(e)))
            }
        }
    }

    /// Connects and creates the table if missing (under the schema lock, so that two
    /// relay replicas, or a service migrating, do not interleave their DDL).
    async fn connect(&self) -> runtime::Result<Client> {
        let (client, connection) = self.database.pg_config()?.connect(NoTls).await?;
        tokio::spawn(connection);
        runtime::db::lock_schema(&client).await?;
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                     id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                     -- Where the message was in the source: the WAL position of its
                     -- insert, or its outbox sequence (polling).
                     origin           text NOT NULL UNIQUE,
                     dead_lettered_at timestamptz NOT NULL DEFAULT now(),
                     topic            text,
                     message_key      text,
                     header_names     text[] NOT NULL,
                     header_values    bytea[] NOT NULL,
                     payload          bytea NOT NULL,
                     reason           text NOT NULL
                 );
                 SELECT pg_advisory_unlock({lock});",
                table = self.table,
                lock = runtime::db::SCHEMA_LOCK,
            ))
            .await?;
        Ok(client)
    }
}

fn store_failed(error: runtime::Error) -> Retry {
    Retry::new(
        "dead_letter_store",
        format!("cannot keep a dead letter in the database: {error}"),
    )
}
