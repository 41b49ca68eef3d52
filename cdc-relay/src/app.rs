//! The relay process: HTTP operations endpoints plus the replication loop, restarted
//! with backoff after any failure, until asked to stop. With leader election on, the loop
//! stands by until this replica holds the Lease, and a session ends (as on a stop:
//! flush, confirm, close) when it loses it.
//!
//! `/readyz` means "alive and doing its part": streaming, or standing by while another
//! replica holds the Lease. A standby is ready so that a PodDisruptionBudget counts it
//! and a rolling update can proceed; who streams is `ftgo_relay_leader` and
//! `ftgo_relay_streaming` (see docs/architecture.md).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use outbox::OutboxMode;
use pgwire_replication::FeedbackObserver;
use runtime::http::{HttpServer, Readiness, operations_routes};
use tokio::sync::watch;

use crate::checkpoint::Checkpoint;
use crate::config::RelaySettings;
use crate::decode::Mapper;
use crate::leader::{Leadership, Role};
use crate::metrics::RelayMetrics;
use crate::pipeline::{self, SessionContext, SessionEnd};
use crate::sink::Sink;
use crate::sink::kafka::KafkaSink;
use crate::{Error, Result, polling, source};

const MIN_BACKOFF: Duration = Duration::from_millis(200);

/// A session that streamed at least this long was healthy: the next failure starts the
/// backoff afresh. Shorter ones (a record that fails every time) keep backing off.
const HEALTHY_SESSION: Duration = Duration::from_secs(10);

/// A relay, bound to its HTTP port and ready to run.
#[derive(Debug)]
pub struct Relay {
    settings: RelaySettings,
    metrics: RelayMetrics,
    readiness: Readiness,
    server: HttpServer,
    leadership: Leadership,
    mapper: Mapper,
}

impl Relay {
    /// Registers metrics, binds the HTTP listener (`/metrics`, `/healthz`, `/readyz`)
    /// and, if enabled, starts leader election.
    pub async fn build(settings: RelaySettings) -> Result<Self> {
        settings.leader_election.validate()?;
        settings.kafka.validate()?;
        let mapper = Mapper::new(&settings)?;
        let leadership = if settings.leader_election.enabled {
            Leadership::start(&settings.leader_election).await?
        } else {
            Leadership::always()
        };
        let registry = runtime::metrics::registry()?;
        let metrics = RelayMetrics::register(&registry)?;
        let readiness = Readiness::new("not streaming yet");
        let server = HttpServer::bind(
            &settings.http,
            operations_routes(registry, readiness.clone()),
        )
        .await?;
        Ok(Self {
            settings,
            metrics,
            readiness,
            server,
            leadership,
            mapper,
        })
    }

    /// The bound HTTP address.
    pub fn http_address(&self) -> Result<SocketAddr> {
        Ok(self.server.local_addr()?)
    }

    /// Relays until `shutdown` completes; then flushes, confirms and returns.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let (stop_tx, mut stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let mut server_stop = stop_rx.clone();
        let server = tokio::spawn(self.server.run_until(async move {
            let _ = server_stop.wait_for(|stop| *stop).await;
        }));

        let mut backoff = MIN_BACKOFF;
        let max_backoff = Duration::from_millis(self.settings.relay.max_backoff_ms);
        // One producer for the process: an idempotent producer needs ~0.5 s to obtain its
        // producer id before it sends anything, which a producer per session would pay
        // again on every reconnection. Sessions purge its queue when they fail; only a
        // producer in a fatal state is replaced.
        let mut sink: Option<KafkaSink> = None;
        let mut dead_letter_topic_ready = false;
        let mut role = self.leadership.role();
        loop {
            if !stand_by(&self.metrics, &self.readiness, &mut role, &mut stop_rx).await {
                break;
            }
            let started = std::time::Instant::now();
            if !dead_letter_topic_ready {
                // Created by the relay that may need it (brokers here do not auto-create
                // topics); until it exists a dead letter waits, kept in its table.
                let topic = self.settings.relay.dead_letter_topic.as_str();
                match self.settings.kafka.ensure_topics(&[topic]).await {
                    Ok(()) => dead_letter_topic_ready = true,
                    Err(e) => {
                        tracing::warn!(error = %e, topic, "cannot create the dead-letter topic yet")
                    }
                }
            }
            if sink.as_ref().is_some_and(KafkaSink::is_fatal) {
                tracing::warn!("replacing the Kafka producer after a fatal error");
                sink = None;
            }
            // A producer that cannot be created is counted and retried like any failed
            // session, with its reason.
            let producer = match sink.take() {
                Some(existing) => Ok(existing),
                None => KafkaSink::new(&self.settings, "cdc-relay"),
            }
            .map(|producer| &*sink.insert(producer));
            let outcome = match (producer, self.settings.mode) {
                (Ok(sink), OutboxMode::LogTailing) => {
                    session(
                        &self.settings,
                        &self.mapper,
                        &self.metrics,
                        &self.readiness,
                        sink,
                        &mut stop_rx,
                        &mut role,
                    )
                    .await
                }
                (Ok(sink), OutboxMode::Polling) => {
                    polling::session(
                        &self.settings,
                        &self.metrics,
                        &self.readiness,
                        sink,
                        &mut stop_rx,
                        &mut role,
                    )
                    .await
                }
                (Err(error), _) => Err((error, false)),
            };
            self.metrics.streaming.set(0);
            match outcome {
                Ok((SessionEnd::Stopped, _)) if *stop_rx.borrow() => break,
                Ok((SessionEnd::Stopped, _)) => {
                    tracing::warn!("lost the Lease: stopped streaming, standing by");
                    backoff = MIN_BACKOFF;
                    continue;
                }
                Ok((SessionEnd::StreamEnded, _)) => {
                    tracing::warn!("replication stream ended; reconnecting");
                    self.readiness.set_not_ready("reconnecting");
                    backoff = MIN_BACKOFF;
                }
                Err((error, streamed)) => {
                    let streamed = streamed && started.elapsed() >= HEALTHY_SESSION;
                    let stage = match &error {
                        Error::Runtime(runtime::Error::Kafka(_)) => "kafka",
                        Error::Runtime(_) | Error::Database(_) | Error::SourceNotReady(_) => {
                            "database"
                        }
                        Error::Replication(_) => "replication",
                        Error::Delivery { .. } => "kafka",
                        Error::OperationsServer(_) => "http",
                        Error::Kubernetes(_) => "kubernetes",
                        Error::Protocol(_) => "protocol",
                        Error::SlotLost(_) => "slot",
                    };
                    self.metrics
                        .slot_lost
                        .set(i64::from(matches!(error, Error::SlotLost(_))));
                    self.metrics.errors.with_label_values(&[stage]).inc();
                    if streamed {
                        backoff = MIN_BACKOFF;
                    }
                    let retry_in_ms = backoff.as_millis() as u64;
                    if matches!(error, Error::SourceNotReady(_)) {
                        // Expected while the service has not created its outbox yet.
                        tracing::warn!(%error, retry_in_ms, "source not ready");
                    } else {
                        tracing::error!(%error, stage, retry_in_ms, "replication session failed");
                    }
                    self.readiness.set_not_ready(error.to_string());
                }
            }
            if *stop_rx.borrow() {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop_rx.wait_for(|stop| *stop) => break,
            }
            backoff = (backoff * 2).min(max_backoff);
        }
        self.readiness.set_not_ready("stopping");
        self.metrics.leader.set(0);
        // Streaming has stopped: hand the Lease over.
        self.leadership.resign().await;
        server
            .await
            .map_err(|e| Error::OperationsServer(e.to_string()))?
            .map_err(Error::from)
    }
}

/// Waits until this replica may stream (`true`) or a stop is requested (`false`),
/// keeping `/readyz` and `ftgo_relay_leader` up to date meanwhile.
async fn stand_by(
    metrics: &RelayMetrics,
    readiness: &Readiness,
    role: &mut watch::Receiver<Role>,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        match &*role.borrow_and_update() {
            Role::Leader => {
                metrics.leader.set(1);
                return true;
            }
            Role::Standby => readiness.set_ready(),
            Role::Unknown(reason) => readiness.set_not_ready(format!("leader election: {reason}")),
        }
        metrics.leader.set(0);
        // The leader reports the lag; a replica that lost the Lease would otherwise keep
        // exporting its last figures, and the lag and WAL alerts would fire for it.
        metrics.lag_bytes.set(0);
        metrics.lag_seconds.set(0.0);
        metrics.in_flight.set(0);
        metrics.in_flight_bytes.set(0);
        tokio::select! {
            changed = role.changed() => if changed.is_err() {
                tracing::error!("leader election ended");
                return false;
            },
            _ = stop.wait_for(|stop| *stop) => return false,
        }
    }
}

/// One session, from preparing the source to its end. The flag says whether it reached
/// streaming (a failure after that resets the backoff).
async fn session(
    settings: &RelaySettings,
    mapper: &Mapper,
    metrics: &RelayMetrics,
    readiness: &Readiness,
    sink: &KafkaSink,
    stop: &mut watch::Receiver<bool>,
    role: &mut watch::Receiver<Role>,
) -> std::result::Result<(SessionEnd, bool), (Error, bool)> {
    let confirmed = source::prepare(settings).await.map_err(|e| (e, false))?;
    // An observer makes the client track unreported positions, which a graceful stop
    // waits on.
    let observer = FeedbackObserver::new(|_| {});
    let mut client = source::open_stream(settings, confirmed, observer)
        .await
        .map_err(|e| (e, false))?;
    metrics.sessions.inc();
    metrics.streaming.set(1);
    metrics.slot_lost.set(0);
    readiness.set_ready();
    tracing::info!(resume_from = %confirmed, slot = %settings.slot(), "streaming");
    let context = SessionContext {
        metrics,
        table: settings.relay.table_name(),
        mapper,
        max_in_flight: settings.relay.max_in_flight,
        max_in_flight_bytes: settings.relay.max_in_flight_bytes,
        status_interval: Duration::from_millis(settings.relay.status_interval_ms),
    };
    // Stop streaming on a stop request or as soon as the Lease is lost.
    let step_down = async {
        tokio::select! {
            _ = stop.wait_for(|stop| *stop) => {}
            _ = role.wait_for(|role| *role != Role::Leader) => {}
        }
    };
    let outcome = pipeline::run(
        &mut client,
        sink,
        Checkpoint::new(confirmed),
        &context,
        step_down,
    )
    .await;
    match outcome {
        Ok(SessionEnd::Stopped) => {
            let _ = client.shutdown().await;
            Ok((SessionEnd::Stopped, true))
        }
        Ok(end) => {
            sink.abandon();
            client.abort();
            Ok((end, true))
        }
        Err(error) => {
            sink.abandon();
            client.abort();
            Err((error, true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replica that loses the Lease stops reporting the lag it had as leader.
    #[tokio::test]
    async fn a_standby_reports_no_lag() {
        let metrics = RelayMetrics::register(&prometheus::Registry::new()).unwrap();
        metrics.lag_bytes.set(1 << 30);
        metrics.lag_seconds.set(120.0);
        metrics.in_flight.set(7);
        metrics.in_flight_bytes.set(7 << 20);
        let (_role_tx, mut role) = watch::channel(Role::Standby);
        let (stop_tx, mut stop) = watch::channel(false);
        let readiness = Readiness::new("starting");
        let waiting = tokio::spawn(async move {
            stand_by(&metrics, &readiness, &mut role, &mut stop).await;
            metrics
        });
        stop_tx.send(true).unwrap();
        let metrics = waiting.await.unwrap();
        assert_eq!(metrics.lag_bytes.get(), 0);
        assert_eq!(metrics.lag_seconds.get(), 0.0);
        assert_eq!(metrics.in_flight.get(), 0);
        assert_eq!(metrics.in_flight_bytes.get(), 0);
    }
}
