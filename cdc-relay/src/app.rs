//! The relay process: HTTP operations endpoints plus the replication loop, restarted
//! with backoff after any failure, until asked to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use pgwire_replication::FeedbackObserver;
use platform::http::{HttpServer, Readiness, operations_routes};
use tokio::sync::watch;

use crate::checkpoint::Checkpoint;
use crate::config::RelaySettings;
use crate::metrics::RelayMetrics;
use crate::pipeline::{self, SessionContext, SessionEnd};
use crate::sink::Sink;
use crate::sink::kafka::KafkaSink;
use crate::{Error, Result, source};

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
}

impl Relay {
    /// Registers metrics and binds the HTTP listener (`/metrics`, `/healthz`, `/readyz`).
    pub async fn build(settings: RelaySettings) -> Result<Self> {
        let registry = platform::metrics::registry()?;
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
        loop {
            let started = std::time::Instant::now();
            if sink.as_ref().is_some_and(KafkaSink::is_fatal) {
                tracing::warn!("replacing the Kafka producer after a fatal error");
                sink = None;
            }
            if sink.is_none() {
                sink = KafkaSink::new(&self.settings.kafka, &self.settings.relay, "cdc-relay")
                    .inspect_err(|e| tracing::error!(error = %e, "cannot create producer"))
                    .ok();
            }
            let outcome = match &sink {
                Some(sink) => {
                    session(
                        &self.settings,
                        &self.metrics,
                        &self.readiness,
                        sink,
                        &mut stop_rx,
                    )
                    .await
                }
                None => Err((Error::Kafka("no producer".into()), false)),
            };
            self.metrics.streaming.set(0);
            match outcome {
                Ok((SessionEnd::Stopped, _)) => break,
                Ok((SessionEnd::StreamEnded, _)) => {
                    tracing::warn!("replication stream ended; reconnecting");
                    self.readiness.set_not_ready("reconnecting");
                    backoff = MIN_BACKOFF;
                }
                Err((error, streamed)) => {
                    let streamed = streamed && started.elapsed() >= HEALTHY_SESSION;
                    let stage = match &error {
                        Error::Platform(_) | Error::Database(_) | Error::SourceNotReady(_) => {
                            "database"
                        }
                        Error::Replication(_) => "replication",
                        Error::Kafka(_) => "kafka",
                        Error::Protocol(_) => "protocol",
                    };
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
        server
            .await
            .map_err(|e| Error::Kafka(format!("http task: {e}")))?
            .map_err(Error::from)
    }
}

/// One session, from preparing the source to its end. The flag says whether it reached
/// streaming (a failure after that resets the backoff).
async fn session(
    settings: &RelaySettings,
    metrics: &RelayMetrics,
    readiness: &Readiness,
    sink: &KafkaSink,
    stop: &mut watch::Receiver<bool>,
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
    readiness.set_ready();
    tracing::info!(resume_from = %confirmed, slot = %settings.slot(), "streaming");
    let context = SessionContext {
        metrics,
        table: settings.relay.table_name(),
        max_in_flight: settings.relay.max_in_flight,
        status_interval: Duration::from_millis(settings.relay.status_interval_ms),
    };
    let outcome = pipeline::run(
        &mut client,
        sink,
        Checkpoint::new(confirmed),
        &context,
        stop,
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
