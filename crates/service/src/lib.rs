//! The scaffolding every FTGO service runs around its own API and message handlers:
//! database pool and platform migrations, Prometheus registry with HTTP and consumer
//! metrics, operations endpoints, readiness, dependency health as metrics, consumer
//! loops, and a graceful stop — written once here so services contain only their domain.
//!
//! Shape (zero-to-production): [`ServiceApp::build`] binds (port 0 in tests), then
//! [`ServiceApp::run_until`] serves until the shutdown future completes.
//!
//! [`http`] holds the conventions of every service's HTTP API: problem+json, validated
//! JSON bodies, checked path ids, the OpenAPI document, request metrics.

mod dependencies;
mod error;
mod failure;
pub mod http;
mod store;

pub use error::ServiceError;
pub use failure::{Error, Result};
pub use store::{Store, UseCase};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use deadpool_postgres::Pool;
use prometheus::Registry;
use tokio::sync::watch;
use tokio::task::JoinSet;

use messaging::consumer::{self, ConsumerContext};
use messaging::{
    ConsumerMetrics, DeadLetterProducer, MessageHandler, MessagingSettings, Outbox, Subscription,
};
use outbox::{OutboxMode, OutboxSettings, channels};
use runtime::config::{DatabaseSettings, HttpSettings, KafkaSettings};
use runtime::http::{HttpServer, Readiness, operations_routes};

use crate::http::Problem;
use crate::http::metrics::{HttpMetrics, record};

/// What a service shares with its handlers: the pool, the outbox, the metrics registry.
#[derive(Debug, Clone)]
pub struct Platform {
    /// The service's database.
    pub pool: Pool,
    /// The service's outbox: units of work begin here.
    pub outbox: Outbox,
    /// The service's metrics registry (register domain metrics here).
    pub registry: Registry,
    consumers: ConsumerContext,
    kafka: KafkaSettings,
    readiness: Readiness,
}

impl Platform {
    /// Connects the pool (retrying until the database answers), runs the platform
    /// migrations (outbox for its mode, processed messages) and `migrate` (the service's
    /// own), builds the [`Outbox`] (mode and formats) every unit of work writes through,
    /// and registers the shared metrics.
    pub async fn start<F, Fut>(
        database: &DatabaseSettings,
        kafka: &KafkaSettings,
        outbox: &OutboxSettings,
        messaging: &MessagingSettings,
        migrate: F,
    ) -> Result<Self>
    where
        F: Fn(tokio_postgres::Client) -> Fut,
        Fut: Future<Output = runtime::Result<()>>,
    {
        kafka.validate()?;
        let pool = runtime::db::pool(database)?;
        let mut backoff = Duration::from_millis(200);
        loop {
            match Self::migrate_all(database, outbox.mode, &migrate).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "database not ready; retrying migrations");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        let outbox = Outbox::new(outbox.mode, messaging.clone());
        let registry = runtime::metrics::registry()?;
        let consumers = ConsumerContext {
            pool: pool.clone(),
            outbox: outbox.clone(),
            dead_letters: DeadLetterProducer::new(kafka, channels::DEAD_LETTER)?,
            metrics: ConsumerMetrics::register(&registry)?,
        };
        Ok(Self {
            pool,
            outbox,
            registry,
            consumers,
            kafka: kafka.clone(),
            readiness: Readiness::new("starting"),
        })
    }

    /// Creates `topics`, and the dead-letter topic, if missing (Kafka here does not
    /// auto-create topics): the service makes sure the channels it uses exist before it
    /// uses them, shaped by `kafka.topics`.
    pub async fn ensure_topics(&self, topics: &[&str]) -> Result<()> {
        let mut channels = topics.to_vec();
        channels.push(channels::DEAD_LETTER);
        Ok(self.kafka.ensure_topics(&channels).await?)
    }

    async fn migrate_all<F, Fut>(
        database: &DatabaseSettings,
        outbox: OutboxMode,
        migrate: &F,
    ) -> Result<()>
    where
        F: Fn(tokio_postgres::Client) -> Fut,
        Fut: Future<Output = runtime::Result<()>>,
    {
        let connect = || async {
            let (client, connection) = database.pg_config()?.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(connection);
            Ok::<_, Error>(client)
        };
        // One migrator at a time (replicas start together); released with the session.
        let mut locked = connect().await?;
        runtime::db::lock_schema(&locked).await?;
        outbox::schema::migrate(&mut locked, outbox).await?;
        messaging::schema::migrate(&mut locked).await?;
        Ok(migrate(connect().await?).await?)
    }
}

/// A service bound to its port, with consumers ready to start.
#[derive(Debug)]
pub struct ServiceApp {
    server: HttpServer,
    grpc: Option<SocketAddr>,
    platform: Platform,
    stop: watch::Sender<bool>,
    stop_timeout: Duration,
    shutdown_delay: Duration,
    workers: JoinSet<Result<()>>,
}

/// How a stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Stopped {
    /// Every worker finished.
    Cleanly,
    /// `http.stop_timeout_ms` passed with this many workers still busy (waiting on an
    /// unreachable broker, say); they were abandoned, their messages unacknowledged.
    TimedOut {
        /// Workers abandoned.
        abandoned: usize,
    },
}

impl ServiceApp {
    /// Binds `api` together with `/healthz`, `/readyz`, `/metrics`, HTTP metrics on the
    /// API's routes (not on probes and scrapes), and problem+json for unknown routes.
    pub async fn build(platform: Platform, http: &HttpSettings, api: Router) -> Result<Self> {
        let metrics = HttpMetrics::register(&platform.registry)?;
        let router = api
            .fallback(|| async { Problem::not_found("resource") })
            .route_layer(axum::middleware::from_fn_with_state(metrics, record))
            .merge(operations_routes(
                platform.registry.clone(),
                platform.readiness.clone(),
            ));
        let server = HttpServer::bind(http, router).await?;
        let (stop, _) = watch::channel(false);
        Ok(Self {
            server,
            grpc: None,
            platform,
            stop,
            stop_timeout: http.stop_timeout(),
            shutdown_delay: http.shutdown_delay(),
            workers: JoinSet::new(),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.server.local_addr()?)
    }

    /// Binds a gRPC server (tonic, HTTP/2 plaintext) for `routes` on its own port and
    /// serves it with the HTTP server: it stops taking calls at the same moment and
    /// finishes those in flight. A port of its own keeps it apart from the HTTP/1.1 API in
    /// Kubernetes Service ports and NetworkPolicy rules. Returns the bound address.
    pub async fn serve_grpc(
        &mut self,
        settings: &HttpSettings,
        routes: tonic::service::Routes,
    ) -> Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(settings.address())
            .await
            .map_err(runtime::Error::from)?;
        let address = listener.local_addr().map_err(runtime::Error::from)?;
        self.grpc = Some(address);
        let mut stop = self.stop.subscribe();
        self.workers.spawn(async move {
            tonic::transport::Server::builder()
                .add_routes(routes)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener),
                    async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    },
                )
                .await
                .map_err(|e| Error::Grpc(e.to_string()))
        });
        Ok(address)
    }

    /// The gRPC server's bound address, if [`ServiceApp::serve_grpc`] was called.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc
    }

    /// Starts a consumer loop for `subscription` (it runs until the service stops).
    pub fn consume<H: MessageHandler>(&mut self, subscription: Subscription, handler: Arc<H>) {
        let kafka = self.platform.kafka.clone();
        let context = self.platform.consumers.clone();
        let stop = self.stop.subscribe();
        self.workers.spawn(async move {
            Ok(consumer::run(subscription, &kafka, handler, context, stop).await?)
        });
    }

    /// Starts a background task that runs until the stop signal (e.g. a deadline sweeper).
    pub fn spawn<F, Fut>(&mut self, task: F)
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = Result<()>> + Send + 'static,
    {
        let fut = task(self.stop.subscribe());
        self.workers.spawn(fut);
    }

    /// Marks the service ready and serves until `shutdown` completes; then reports not
    /// ready while it keeps serving for `http.shutdown_delay_ms` (endpoints still route
    /// to it until the platform has seen that), stops taking requests, finishes in-flight
    /// ones, stops the consumers (committing their offsets) and returns — within
    /// `http.stop_timeout_ms` after the delay: workers still busy then are abandoned
    /// ([`Stopped::TimedOut`]); a message one of them was handling stays unacknowledged.
    ///
    /// Readiness means "this process can serve": it does not follow the database or the
    /// broker (see [`dependencies`]).
    pub async fn run_until(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Stopped> {
        self.workers.spawn(dependencies::watch(
            self.platform.pool.clone(),
            self.platform.kafka.clone(),
            dependencies::DependencyMetrics::register(&self.platform.registry)?,
            self.stop.subscribe(),
        ));
        self.platform.readiness.set_ready();
        let stop = self.stop.clone();
        let readiness = self.platform.readiness.clone();
        let shutdown_delay = self.shutdown_delay;
        let serving = self.server.run_until(async move {
            shutdown.await;
            readiness.set_not_ready("stopping");
            if !shutdown_delay.is_zero() {
                tracing::info!(
                    shutdown_delay_ms = shutdown_delay.as_millis() as u64,
                    "stop requested: not ready, serving on until endpoints have dropped this instance"
                );
                tokio::time::sleep(shutdown_delay).await;
            }
            let _ = stop.send(true);
        });
        let stop_timeout = self.stop_timeout;
        let mut stop_signalled = self.stop.subscribe();
        let deadline = async move {
            let _ = stop_signalled.wait_for(|stop| *stop).await;
            tokio::time::sleep(stop_timeout).await;
        };
        tokio::pin!(deadline);
        let served = tokio::select! {
            served = serving => served,
            () = &mut deadline => Ok(()),
        };
        let _ = self.stop.send(true);
        loop {
            tokio::select! {
                joined = self.workers.join_next() => match joined {
                    None => break,
                    Some(Ok(Err(e))) => tracing::error!(error = %e, "worker failed"),
                    Some(Err(e)) => tracing::error!(error = %e, "worker panicked"),
                    Some(Ok(Ok(()))) => {}
                },
                () = &mut deadline => {
                    let abandoned = self.workers.len();
                    tracing::warn!(
                        abandoned,
                        stop_timeout_ms = stop_timeout.as_millis() as u64,
                        "stop timeout passed; abandoning workers still busy (their messages stay unacknowledged)"
                    );
                    self.workers.abort_all();
                    served?;
                    return Ok(Stopped::TimedOut { abandoned });
                }
            }
        }
        Ok(served.map(|()| Stopped::Cleanly)?)
    }
}

/// A boxed error for `main`: configuration, start-up or serving failures.
pub type MainError = Box<dyn std::error::Error + Send + Sync>;

/// The whole `main` of a service: JSON logs, settings from `FTGO_*` variables over the
/// optional `FTGO_CONFIG_FILE`, `build`, then serving until SIGTERM or Ctrl-C.
pub async fn serve<S, E, F, Fut>(name: &'static str, build: F) -> std::result::Result<(), MainError>
where
    S: serde::de::DeserializeOwned,
    E: std::error::Error + Send + Sync + 'static,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = std::result::Result<ServiceApp, E>>,
{
    runtime::telemetry::init("info");
    let settings: S = runtime::config::ConfigSource::from_process_env()
        .load()
        .map_err(|e| format!("invalid configuration: {e}"))?;
    let app = build(settings)
        .await
        .map_err(|e| format!("cannot start: {e}"))?;
    let grpc = app.grpc_addr().map(|address| address.to_string());
    tracing::info!(service = name, http = %app.local_addr()?, grpc, "started");
    match app.run_until(runtime::http::shutdown_signal()).await? {
        Stopped::Cleanly => tracing::info!(service = name, "stopped"),
        Stopped::TimedOut { abandoned } => {
            tracing::warn!(service = name, abandoned, "stopped with work abandoned");
            // An abandoned worker may sit in a blocking librdkafka call (closing a
            // consumer whose broker is gone); dropping the runtime would wait for it.
            std::process::exit(0);
        }
    }
    Ok(())
}
