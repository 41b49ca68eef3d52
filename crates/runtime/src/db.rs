//! Database access: a connection pool built from [`DatabaseSettings`].

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::config::DatabaseSettings;
use crate::{Error, Result};

/// A pool of connections to the service's own database.
///
/// Connections are opened lazily, so building a pool never fails because the database is
/// down; the first query does, and readiness reports it.
pub fn pool(settings: &DatabaseSettings) -> Result<Pool> {
    let manager = Manager::from_config(
        settings.pg_config()?,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.pool_size)
        .build()
        .map_err(|e| Error::Pool(e.to_string()))
}

/// Takes a connection from the pool.
pub async fn connection(pool: &Pool) -> Result<deadpool_postgres::Object> {
    pool.get().await.map_err(|e| match e {
        deadpool_postgres::PoolError::Backend(e) => Error::Database(e),
        other => Error::Pool(other.to_string()),
    })
}

/// The session-level advisory lock under which a database's schema changes: every
/// instance of a service migrates under it, and cdc-relay prepares its capture
/// (publication, slot, the slot's record) under it. refinery itself does not lock, so
/// without it two starting replicas, or a replica and its relay, interleave their DDL:
/// one fails on the other's half-made objects (seen: a relay's slot record made between
/// the service's capture migrations V2 and V4).
pub const SCHEMA_LOCK: i64 = 0x6674_676f_5343_484d; // "ftgoSCHM"

/// Waits for [`SCHEMA_LOCK`] on `client`'s session; it is held until the session ends
/// (the client is dropped) or is released explicitly.
pub async fn lock_schema(client: &tokio_postgres::Client) -> Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&SCHEMA_LOCK])
        .await?;
    Ok(())
}

/// Runs an embedded refinery migration set (each crate embeds its own with
/// `refinery::embed_migrations!`), mapping its error to ours.
/// refinery's message ("error applying migration V4__…, db error") with the database's
/// own message, code and hint from its source chain: what an operator needs to act.
fn describe_migration_error(error: &refinery::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        match cause.downcast_ref::<tokio_postgres::Error>() {
            Some(postgres) => {
                text.push_str(&crate::error::describe_postgres(postgres));
                break;
            }
            None => text.push_str(&cause.to_string()),
        }
        source = cause.source();
    }
    text
}

pub async fn run_migrations(
    client: &mut tokio_postgres::Client,
    runner: refinery::Runner,
) -> Result<()> {
    runner
        .run_async(client)
        .await
        .map(|_| ())
        .map_err(|e| Error::Migration(describe_migration_error(&e)))
}
