//! The replication slot's guard: a slot that existed and vanished is not recreated past
//! lost messages.
//!
//! In log tailing mode the services delete their outbox rows in the transaction that
//! writes them, so until the relay has published a message the WAL is its only copy, and
//! the slot is what keeps that WAL. A slot lost to a failover (PostgreSQL 15 does not
//! carry slots to a replica), invalidated by `max_slot_wal_keep_size`, or dropped by hand
//! takes unpublished messages with it. Recreating it starts at the current WAL position:
//! silently, that would be silent loss.
//!
//! So each slot's creation is recorded in `ftgo_relay_slots` (by the outbox migration, or
//! by the relay for a table captured without it), with the last position the relay
//! confirmed. A missing slot is created only while nothing can have been lost: no record
//! of it, and, for this project's outbox, no message ever written (its identity sequence
//! never used). Otherwise the relay refuses to stream ([`Error::SlotLost`]: not ready, the
//! log and `ftgo_relay_slot_lost` say why, the `FtgoRelaySlotLost` alert fires) until an
//! operator sets `relay.accept_slot_loss` for one start: the slot is then created and the
//! skipped LSN range logged.

use tokio_postgres::Client;
use tokio_postgres::error::SqlState;

use crate::config::{Layout, RelaySettings};
use crate::{Error, Result};

const SLOTS_TABLE: &str = outbox::schema::SLOTS_TABLE;

/// Creates the missing slot `slot_name` if nothing can have been lost, or if the operator
/// accepted the loss; returns its position.
pub(super) async fn create_missing(
    client: &Client,
    settings: &RelaySettings,
    slot_name: &str,
) -> Result<String> {
    let recorded = recorded_position(client, slot_name).await?;
    let written =
        settings.layout == Layout::Ftgo && messages_were_written(client, settings).await?;
    let lost_since = match (recorded, written) {
        (Some(position), _) => Some(format!("{position} (its last confirmed position)")),
        (None, true) => Some("an unknown position (outbox messages were written)".to_owned()),
        (None, false) => None,
    };
    if let Some(since) = &lost_since
        && !settings.relay.accept_slot_loss
    {
        return Err(Error::SlotLost(format!(
            "slot {slot_name} existed and is gone (failover, max_slot_wal_keep_size or a \
             drop); WAL since {since} may hold unpublished messages. Not recreating it \
             past them: find the slot, or accept the gap by starting once with \
             relay.accept_slot_loss=true"
        )));
    }
    let row = client
        .query_one(
            "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot_name],
        )
        .await?;
    let created: String = row.get(0);
    match &lost_since {
        Some(since) => tracing::error!(
            slot = %slot_name,
            skipped_from = %since,
            skipped_to = %created,
            "accepted the loss of the replication slot (relay.accept_slot_loss): outbox \
             messages in this WAL range were not published; remove the setting now"
        ),
        None => tracing::info!(slot = %slot_name, at = %created, "created replication slot"),
    }
    record(client, slot_name, &created).await;
    Ok(created)
}

/// Notes the slot (if not yet recorded) and the position this session resumes from.
pub(super) async fn record(client: &Client, slot_name: &str, position: &str) {
    let statement = format!(
        "CREATE TABLE IF NOT EXISTS {SLOTS_TABLE} (
             slot_name text PRIMARY KEY, created_lsn pg_lsn NOT NULL,
             created_at timestamptz NOT NULL DEFAULT now(), confirmed_lsn pg_lsn);
         INSERT INTO {SLOTS_TABLE} (slot_name, created_lsn, confirmed_lsn)
         VALUES ('{slot}', '{position}', '{position}')
         ON CONFLICT (slot_name) DO UPDATE SET confirmed_lsn = EXCLUDED.confirmed_lsn",
        slot = slot_name.replace('\'', "''"),
        position = position.replace('\'', "''"),
    );
    if let Err(e) = client.batch_execute(&statement).await {
        // Without the record a later loss of this slot cannot be told from a first
        // start; the relay still streams.
        tracing::warn!(
            error = %runtime::error::describe_postgres(&e),
            table = SLOTS_TABLE,
            "cannot record the replication slot"
        );
    }
}

/// The recorded slot's last confirmed (else creation) position, if it was recorded.
async fn recorded_position(client: &Client, slot_name: &str) -> Result<Option<String>> {
    let query = format!(
        "SELECT coalesce(confirmed_lsn, created_lsn)::text FROM {SLOTS_TABLE} WHERE slot_name = $1"
    );
    match client.query_opt(&query, &[&slot_name]).await {
        Ok(row) => Ok(row.map(|row| row.get(0))),
        Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether this project's outbox ever had a row: its identity sequence was used.
async fn messages_were_written(client: &Client, settings: &RelaySettings) -> Result<bool> {
    let (schema, table) = settings.relay.table_name();
    let qualified = format!(
        "{}.{}",
        super::quote_ident(schema),
        super::quote_ident(table)
    );
    let row = client
        .query_one(
            "SELECT pg_sequence_last_value(pg_get_serial_sequence($1, 'sequence')) IS NOT NULL",
            &[&qualified],
        )
        .await?;
    Ok(row.get(0))
}
