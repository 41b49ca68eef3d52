//! The replication source: publication, slot, and the stream itself.
//!
//! The stream uses the `pgwire-replication` crate (see docs/architecture.md for why it
//! over `pg_walstream`): it acknowledges nothing on its own, reports the server's
//! keepalive position to us, and ends a broken session with an error so that the relay
//! decides how to resume.

use pgwire_replication::{FeedbackObserver, Lsn, ReplicationClient, ReplicationConfig, TlsConfig};
use secrecy::ExposeSecret;
use tokio_postgres::NoTls;

use crate::config::RelaySettings;
use crate::{Error, Result};

mod slot;

/// Makes sure the outbox table has its publication and slot, and returns the slot's
/// confirmed position: where this session resumes.
///
/// A slot streamed by another process (a second relay replica) is refused by PostgreSQL;
/// that exclusivity is what keeps two relays from publishing at once.
pub async fn prepare(settings: &RelaySettings) -> Result<Lsn> {
    let (client, connection) = settings.database.pg_config()?.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let result = prepare_with(&client, settings).await;
    drop(client);
    let _ = driver.await;
    result
}

async fn prepare_with(client: &tokio_postgres::Client, settings: &RelaySettings) -> Result<Lsn> {
    let options = &settings.relay;
    let slot_name = settings.slot();
    let (schema, table) = options.table_name();
    // Not while the service migrates: its capture migrations make these same objects.
    // Released when `prepare` drops the client.
    runtime::db::lock_schema(client).await?;
    let exists = client
        .query_opt(
            "SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2",
            &[&schema, &table],
        )
        .await?
        .is_some();
    if !exists {
        return Err(Error::SourceNotReady(format!(
            "table {schema}.{table} does not exist yet (the service creates it on start)"
        )));
    }
    let publication_exists = client
        .query_opt(
            "SELECT 1 FROM pg_publication WHERE pubname = $1",
            &[&options.publication],
        )
        .await?
        .is_some();
    if !publication_exists {
        // Identifiers cannot be bound; quote them as PostgreSQL does.
        let statement = format!(
            "CREATE PUBLICATION {} FOR TABLE {}.{} WITH (publish = 'insert')",
            quote_ident(&options.publication),
            quote_ident(schema),
            quote_ident(table)
        );
        if let Err(e) = client.batch_execute(&statement).await {
            // Two relays starting together may race; the loser finds it created.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT) {
                return Err(e.into());
            }
        }
        tracing::info!(publication = %options.publication, "created publication");
    }
    let slot = client
        .query_opt(
            "SELECT confirmed_flush_lsn::text, active_pid FROM pg_replication_slots
             WHERE slot_name = $1 AND database = current_database()",
            &[&slot_name],
        )
        .await?;
    let (confirmed, active_pid): (Option<String>, Option<i32>) = match slot {
        Some(row) => (row.get(0), row.get(1)),
        None => (
            Some(slot::create_missing(client, settings, &slot_name).await?),
            None,
        ),
    };
    if let Some(pid) = active_pid {
        return Err(Error::SourceNotReady(format!(
            "slot {slot_name} is being streamed by another process (pid {pid})"
        )));
    }
    let confirmed = confirmed
        .ok_or_else(|| Error::SourceNotReady("slot has no confirmed position yet".into()))?;
    slot::record(client, &slot_name, &confirmed).await;
    Lsn::parse(&confirmed).map_err(|e| Error::Protocol(format!("slot position {confirmed}: {e}")))
}

/// `"name"` with inner quotes doubled: a safe SQL identifier.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Opens the replication stream at the slot's confirmed position, reporting `confirmed`
/// until the pipeline confirms more. `observer` sees each status update sent.
pub async fn open_stream(
    settings: &RelaySettings,
    confirmed: Lsn,
    observer: FeedbackObserver,
) -> Result<ReplicationClient> {
    let db = &settings.database;
    let password = db
        .password()?
        .map(|p| p.expose_secret().to_owned())
        .unwrap_or_default();
    let interval = std::time::Duration::from_millis(settings.relay.status_interval_ms);
    // The config's Debug output holds the password: it is never logged.
    let config = ReplicationConfig::new(
        &db.host,
        &db.user,
        password,
        &db.name,
        settings.slot(),
        settings.relay.publication.as_str(),
    )
    .with_port(db.port)
    .with_tls(TlsConfig::disabled())
    .with_start_lsn(Lsn::ZERO)
    .with_ack_lsn(confirmed)
    .with_status_interval(interval)
    .with_wakeup_interval(interval.max(std::time::Duration::from_secs(1)))
    .with_application_name("cdc-relay")
    .with_feedback_observer(observer);
    let mut client = ReplicationClient::connect(config).await?;
    client.wait_started().await?;
    Ok(client)
}
