//! The polling publisher (Microservices Patterns, ch. 3): the relay's second mode, for
//! databases without logical replication (`wal_level` below `logical`).
//!
//! The services keep their outbox rows; one poll reads the oldest rows in `sequence`
//! order, hands them to the same [`Sink`] as log tailing (one key's records keep call
//! order), waits for every acknowledgement, and only then deletes them. A crash between
//! acknowledgement and delete publishes those rows again: at least once, consumers
//! deduplicate on the message id.
//!
//! # Which rows a poll may publish
//!
//! A `sequence` value is taken when the row is inserted, not when its transaction commits,
//! so a row with a lower sequence can become visible after one with a higher sequence.
//! A cursor `sequence > last_published` would skip it for good. This poller keeps no
//! cursor (the table is the queue: what is not deleted is read again), and, for order,
//! publishes the rows in sequence order only up to the first one whose transaction is not
//! older than the oldest transaction still running (`xid < pg_snapshot_xmin(..)`, in the
//! query's own snapshot). Every transaction older than that horizon has finished, so the
//! set of rows below it is final: no row can still appear among them. A row held back
//! waits until every older transaction has ended, and a row committed later than a row
//! with a higher sequence is never overtaken by it once both are visible.
//!
//! # One poller per database
//!
//! A session holds a PostgreSQL advisory lock (per outbox table) on its connection for as
//! long as it polls: a second relay (a standby after a Lease hand-over that overlapped)
//! fails to take it and retries, as a second streamer of a replication slot would be
//! refused. `FOR UPDATE SKIP LOCKED` would let several pollers share the work, but each
//! would publish a different subset concurrently, which breaks per-key order.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::future::join_all;
use runtime::http::Readiness;
use tokio::sync::watch;
use tokio_postgres::NoTls;

use crate::config::RelaySettings;
use crate::decode::outbox::to_record;
use crate::decode::pgoutput::{Relation, Value};
use crate::leader::Role;
use crate::metrics::RelayMetrics;
use crate::pipeline::SessionEnd;
use crate::sink::{DeadLetter, Delivered, Delivery, Origin, Retry, Sink};
use crate::source::quote_ident;
use crate::{Error, Result};

/// How long a stopping session waits for its connection to close (releasing the lock).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// One polling session: connect, take the poller lock, poll until a stop, the Lease is
/// lost, or an error. The flag says whether it reached polling (a failure after that
/// resets the backoff).
pub(crate) async fn session<S: Sink>(
    settings: &RelaySettings,
    metrics: &RelayMetrics,
    readiness: &Readiness,
    sink: &S,
    stop: &mut watch::Receiver<bool>,
    role: &mut watch::Receiver<Role>,
) -> std::result::Result<(SessionEnd, bool), (Error, bool)> {
    let mut polled = false;
    let outcome = connect_and_poll(settings, metrics, readiness, sink, stop, role, &mut polled);
    match outcome.await {
        Ok(end) => Ok((end, polled)),
        Err(error) => {
            sink.abandon();
            Err((error, polled))
        }
    }
}

async fn connect_and_poll<S: Sink>(
    settings: &RelaySettings,
    metrics: &RelayMetrics,
    readiness: &Readiness,
    sink: &S,
    stop: &mut watch::Receiver<bool>,
    role: &mut watch::Receiver<Role>,
    polled: &mut bool,
) -> Result<SessionEnd> {
    let (client, connection) = settings.database.pg_config()?.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let poller = Poller::prepare(&client, settings).await;
    let outcome = match poller {
        Ok(poller) => {
            metrics.sessions.inc();
            metrics.streaming.set(1);
            readiness.set_ready();
            *polled = true;
            tracing::info!(table = %poller.table, "polling");
            poller.run(metrics, sink, stop, role).await
        }
        Err(error) => Err(error),
    };
    // Closing the connection releases the advisory lock for the next poller.
    drop(client);
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, driver).await;
    outcome
}

/// A session's connection, table and statements.
struct Poller<'a> {
    client: &'a tokio_postgres::Client,
    /// The quoted `schema.table`.
    table: String,
    relation: (String, String),
    /// Each column's type OID, as pgoutput's Relation message would give it (the
    /// mapping reads a `bytea` payload from its hex text by this).
    column_types: HashMap<String, u32>,
    select: String,
    delete: String,
    batch_size: i64,
    interval: Duration,
}

impl<'a> Poller<'a> {
    /// Checks the table is ready for polling and takes the poller lock.
    async fn prepare(client: &'a tokio_postgres::Client, settings: &RelaySettings) -> Result<Self> {
        let (schema, name) = settings.relay.table_name();
        let ready = client
            .query_opt(
                "SELECT 1 FROM information_schema.columns
                 WHERE table_schema = $1 AND table_name = $2 AND column_name = 'xid'",
                &[&schema, &name],
            )
            .await?
            .is_some();
        if !ready {
            return Err(Error::SourceNotReady(format!(
                "table {schema}.{name} does not exist yet or has no xid column \
                 (the service creates it on start)"
            )));
        }
        let table = format!("{}.{}", quote_ident(schema), quote_ident(name));
        let locked: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 0))",
                &[&format!("ftgo outbox poller {table}")],
            )
            .await?
            .get(0);
        if !locked {
            return Err(Error::SourceNotReady(format!(
                "another relay polls {table} (it holds the poller lock)"
            )));
        }
        let column_types = client
            .query(
                "SELECT attname::text, atttypid::oid FROM pg_attribute
                 WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped",
                &[&table],
            )
            .await?
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, u32>(1)))
            .collect();
        Ok(Self {
            client,
            column_types,
            select: format!(
                "SELECT sequence,
                        xid < pg_snapshot_xmin(pg_current_snapshot()),
                        (extract(epoch FROM created_at) * 1000)::int8,
                        row_to_json(o)::text
                 FROM {table} o ORDER BY sequence LIMIT $1"
            ),
            delete: format!("DELETE FROM {table} WHERE sequence = ANY($1)"),
            table,
            relation: (schema.to_owned(), name.to_owned()),
            batch_size: i64::from(settings.polling.batch_size.max(1)),
            interval: Duration::from_millis(settings.polling.interval_ms),
        })
    }

    async fn run<S: Sink>(
        &self,
        metrics: &RelayMetrics,
        sink: &S,
        stop: &mut watch::Receiver<bool>,
        role: &mut watch::Receiver<Role>,
    ) -> Result<SessionEnd> {
        loop {
            if *stop.borrow() || *role.borrow() != Role::Leader {
                return Ok(SessionEnd::Stopped);
            }
            let published = self.poll_once(metrics, sink).await?;
            if published < self.batch_size {
                tokio::select! {
                    _ = tokio::time::sleep(self.interval) => {}
                    _ = stop.wait_for(|stop| *stop) => return Ok(SessionEnd::Stopped),
                    _ = role.wait_for(|role| *role != Role::Leader) => return Ok(SessionEnd::Stopped),
                }
            }
        }
    }

    /// Publishes and deletes the rows one poll may take; returns how many.
    async fn poll_once<S: Sink>(&self, metrics: &RelayMetrics, sink: &S) -> Result<i64> {
        let rows = self.client.query(&self.select, &[&self.batch_size]).await?;
        let oldest = rows.first().map(|row| row.get::<_, i64>(2));
        metrics
            .lag_seconds
            .set(oldest.map_or(0.0, |millis| (now_millis() - millis).max(0) as f64 / 1e3));
        let mut sequences = Vec::with_capacity(rows.len());
        let mut deliveries = Vec::with_capacity(rows.len());
        for row in rows.iter().take_while(|row| row.get::<_, bool>(1)) {
            let sequence: i64 = row.get(0);
            let origin = Origin::Sequence(sequence);
            let created_millis: i64 = row.get(2);
            let waited_millis = (now_millis() - created_millis).max(0);
            metrics.commit_to_read.observe(waited_millis as f64 / 1e3);
            let delivery = match self.to_values(row.get(3)) {
                Ok((relation, values)) => match to_record(&relation, &values, created_millis) {
                    Ok(record) => sink.publish(record, origin).await,
                    Err(letter) => sink.dead_letter(letter, origin).await,
                },
                Err(letter) => sink.dead_letter(letter, origin).await,
            };
            sequences.push(sequence);
            deliveries.push(acknowledged(delivery, created_millis));
            metrics.in_flight.set(deliveries.len() as i64);
        }
        let acknowledgements = join_all(deliveries).await;
        metrics.in_flight.set(0);
        for (result, waited_millis) in acknowledgements {
            match result {
                Ok(Delivered::Published) => metrics.published.inc(),
                Ok(Delivered::DeadLettered) => metrics.dead_lettered.inc(),
                Err(retry) => return Err(metrics.delivery_failed(retry)),
            }
            metrics.commit_to_ack.observe(waited_millis as f64 / 1e3);
        }
        if !sequences.is_empty() {
            self.client.execute(&self.delete, &[&sequences]).await?;
        }
        Ok(sequences.len() as i64)
    }

    /// A row (as `row_to_json` text) in the shape pgoutput gives the decoder: column
    /// names and text values, so both modes map rows to records with the same code.
    fn to_values(&self, json: &str) -> std::result::Result<(Relation, Vec<Value>), DeadLetter> {
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|e| DeadLetter {
                key: None,
                headers: Vec::new(),
                payload: json.as_bytes().to_vec(),
                original_topic: None,
                reason: format!("outbox row is not a JSON object: {e}"),
            })?;
        let mut columns = Vec::with_capacity(object.len());
        let mut column_types = Vec::with_capacity(object.len());
        let mut values = Vec::with_capacity(object.len());
        for (column, value) in object {
            column_types.push(self.column_types.get(&column).copied().unwrap_or(0));
            columns.push(column);
            values.push(match value {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::String(text) => Value::Text(Bytes::from(text)),
                other => Value::Text(Bytes::from(other.to_string())),
            });
        }
        let relation = Relation {
            schema: self.relation.0.clone(),
            table: self.relation.1.clone(),
            columns,
            column_types,
        };
        Ok((relation, values))
    }
}

/// The delivery's outcome with the time from the row's insert to its acknowledgement.
async fn acknowledged(
    delivery: Delivery,
    created_millis: i64,
) -> (std::result::Result<Delivered, Retry>, i64) {
    let result = delivery.await;
    (result, (now_millis() - created_millis).max(0))
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
