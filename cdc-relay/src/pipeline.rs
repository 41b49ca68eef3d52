//! One replication session: read committed transactions in commit order, hand their
//! outbox records to the sink, and confirm positions as the broker acknowledges them.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use pgwire_replication::{ReplicationClient, ReplicationEvent};

use crate::checkpoint::{Checkpoint, TxnSeq};
use crate::decode::Mapper;
use crate::decode::pgoutput::{PgOutputMessage, Relations, decode};
use crate::metrics::RelayMetrics;
use crate::sink::{Delivered, Origin, Retry, Sink};
use crate::{Error, Result};

/// PostgreSQL timestamps count from 2000-01-01; Unix ones from 1970-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// How long a graceful stop waits for outstanding acknowledgements.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// What a session needs to know besides its stream and sink.
#[derive(Debug)]
pub(crate) struct SessionContext<'a> {
    pub metrics: &'a RelayMetrics,
    /// The outbox table as (schema, table).
    pub table: (&'a str, &'a str),
    /// How its rows become records.
    pub mapper: &'a Mapper,
    pub max_in_flight: usize,
    pub max_in_flight_bytes: usize,
    pub status_interval: Duration,
}

/// How a session ended without error.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SessionEnd {
    /// Stop was requested (or the Lease lost); everything acknowledged was confirmed.
    Stopped,
    /// The server ended the stream; a new session should start.
    StreamEnded,
}

/// A delivery's outcome: its transaction, commit time (Unix µs), size in bytes and result.
type Acknowledgement = (TxnSeq, i64, usize, std::result::Result<Delivered, Retry>);

/// Runs the session until `stop` completes (a stop was requested, or this replica lost
/// the Lease), the stream ends, or an error occurs.
pub(crate) async fn run<S: Sink>(
    client: &mut ReplicationClient,
    sink: &S,
    mut checkpoint: Checkpoint,
    context: &SessionContext<'_>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<SessionEnd> {
    tokio::pin!(stop);
    let metrics = context.metrics;
    let mut deliveries = FuturesUnordered::new();
    let mut relations = Relations::default();
    // The transaction being read: its sequence and commit time (Unix µs).
    let mut open: Option<(TxnSeq, i64)> = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // The window: records awaiting the broker, by count and by bytes. Reading the WAL
    // pauses while either is full, which bounds the relay's memory whatever the payload
    // sizes (a large payload fills the byte budget long before the count).
    let mut in_flight_bytes = 0usize;

    loop {
        tokio::select! {
            biased;
            () = &mut stop => {
                drain(client, &mut deliveries, &mut checkpoint, context).await;
                return Ok(SessionEnd::Stopped);
            }
            Some(ack) = deliveries.next() => {
                let ack: Acknowledgement = ack;
                in_flight_bytes -= ack.2;
                if acknowledge(ack, &mut checkpoint, metrics)? {
                    client.update_applied_lsn(checkpoint.confirmed());
                }
                metrics.in_flight.set(deliveries.len() as i64);
                metrics.in_flight_bytes.set(in_flight_bytes as i64);
            }
            event = client.recv(), if deliveries.len() < context.max_in_flight
                && in_flight_bytes < context.max_in_flight_bytes => {
                let Some(event) = event? else { return Ok(SessionEnd::StreamEnded) };
                match event {
                    ReplicationEvent::Begin { commit_time_micros, .. } => {
                        let unix_micros = commit_time_micros + PG_EPOCH_MICROS;
                        open = Some((checkpoint.begin(unix_micros), unix_micros));
                        metrics.commit_to_read.observe(seconds_since(unix_micros));
                    }
                    ReplicationEvent::XLogData { wal_start, data, .. } => {
                        match decode(data).map_err(|e| Error::Protocol(e.to_string()))? {
                            PgOutputMessage::Relation { id, relation } => {
                                relations.insert(id, relation);
                            }
                            PgOutputMessage::Insert { id, values } => {
                                let (seq, commit_micros) = open.ok_or_else(|| {
                                    Error::Protocol("insert outside a transaction".into())
                                })?;
                                let relation = relations.get(id).ok_or_else(|| {
                                    Error::Protocol(format!("insert into unannounced relation {id}"))
                                })?;
                                if (relation.schema.as_str(), relation.table.as_str()) != context.table {
                                    continue;
                                }
                                let origin = Origin::Wal(wal_start);
                                let (size, delivery) = match context.mapper.to_record(relation, &values, commit_micros / 1000) {
                                    Ok(record) => (record.size_bytes(), sink.publish(record, origin).await),
                                    Err(letter) => (letter.size_bytes(), sink.dead_letter(letter, origin).await),
                                };
                                checkpoint.enqueued(seq);
                                in_flight_bytes += size;
                                metrics.in_flight_bytes.set(in_flight_bytes as i64);
                                deliveries.push(async move { (seq, commit_micros, size, delivery.await) });
                                metrics.in_flight.set(deliveries.len() as i64);
                            }
                            PgOutputMessage::Other(_) => {}
                        }
                    }
                    ReplicationEvent::Commit { end_lsn, .. } => {
                        if let Some((seq, _)) = open.take()
                            && checkpoint.commit(seq, end_lsn)
                        {
                            client.update_applied_lsn(checkpoint.confirmed());
                        }
                    }
                    ReplicationEvent::KeepAlive { wal_end, .. } => {
                        if open.is_none() && checkpoint.idle_at(wal_end) {
                            client.update_applied_lsn(checkpoint.confirmed());
                        }
                    }
                    ReplicationEvent::StoppedAt { .. } => return Ok(SessionEnd::StreamEnded),
                    ReplicationEvent::Message { .. } => {}
                }
            }
            _ = tick.tick() => report_lag(client, &checkpoint, metrics),
        }
    }
}

/// Records one acknowledgement; `Ok(true)` when the confirmable position advanced.
fn acknowledge(
    (seq, commit_micros, _, result): Acknowledgement,
    checkpoint: &mut Checkpoint,
    metrics: &RelayMetrics,
) -> Result<bool> {
    match result {
        Ok(Delivered::Published) => metrics.published.inc(),
        Ok(Delivered::DeadLettered) => metrics.dead_lettered.inc(),
        Err(retry) => return Err(metrics.delivery_failed(retry)),
    }
    metrics.commit_to_ack.observe(seconds_since(commit_micros));
    Ok(checkpoint.acknowledged(seq))
}

fn report_lag(client: &ReplicationClient, checkpoint: &Checkpoint, metrics: &RelayMetrics) {
    let stream = client.metrics();
    let wal_end = stream.last_wal_end().as_u64();
    let confirmed = checkpoint.confirmed().as_u64();
    metrics.lag_bytes.set(
        wal_end
            .saturating_sub(confirmed)
            .try_into()
            .unwrap_or(i64::MAX),
    );
    metrics.confirmed_lsn.set(
        stream
            .last_applied_lsn()
            .as_u64()
            .try_into()
            .unwrap_or(i64::MAX),
    );
    let lag = checkpoint
        .oldest_pending_commit_micros()
        .map_or(0.0, |oldest| {
            (now_unix_micros() - oldest).max(0) as f64 / 1e6
        });
    metrics.lag_seconds.set(lag);
}

/// Graceful stop: wait for outstanding acknowledgements, confirm, and make sure the
/// server has been told before the stream closes.
async fn drain<F>(
    client: &mut ReplicationClient,
    deliveries: &mut FuturesUnordered<F>,
    checkpoint: &mut Checkpoint,
    context: &SessionContext<'_>,
) where
    F: std::future::Future<Output = Acknowledgement>,
{
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while let Ok(Some(ack)) = tokio::time::timeout_at(deadline.into(), deliveries.next()).await {
        if acknowledge(ack, checkpoint, context.metrics).is_err() {
            break;
        }
    }
    client.update_applied_lsn(checkpoint.confirmed());
    let reported_by = Instant::now() + context.status_interval + Duration::from_secs(2);
    while client.feedback_pending_since().is_some() && Instant::now() < reported_by {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    report_lag(client, checkpoint, context.metrics);
    tracing::info!(confirmed = %checkpoint.confirmed(), "stopped after confirming acknowledged messages");
}

/// Seconds from `unix_micros` until now (0 for a time ahead of this clock).
fn seconds_since(unix_micros: i64) -> f64 {
    now_unix_micros().saturating_sub(unix_micros).max(0) as f64 / 1e6
}

fn now_unix_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}
