//! The operations HTTP server every process shares: bind, serve, probes, metrics,
//! graceful stop. (A service's API conventions — problem+json, validated JSON, OpenAPI —
//! are in the `service` crate; the relay serves only these endpoints.)
//!
//! Shaped after zero-to-production's `Application::build` + `run_until_stopped`: binding
//! is separate from serving so a test can bind port 0, read the real port and then run.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::Registry;
use tokio::net::TcpListener;

use crate::Result;
use crate::config::HttpSettings;

/// Whether the process can do its work right now, as `/readyz` reports it.
///
/// Components flip it as they learn (the relay when its stream is up; a service once it
/// has started, and back when it is stopping: it does not follow the database or the
/// broker, see `service::dependencies`); the probe only reads it, so probing costs
/// nothing.
#[derive(Debug, Clone)]
pub struct Readiness {
    reason_not_ready: Arc<Mutex<Option<String>>>,
}

impl Readiness {
    /// Starts not ready, with the given reason.
    pub fn new(initial_reason: &str) -> Self {
        Self {
            reason_not_ready: Arc::new(Mutex::new(Some(initial_reason.to_owned()))),
        }
    }

    /// Marks the process ready.
    pub fn set_ready(&self) {
        *self.lock() = None;
    }

    /// Marks the process not ready, saying why.
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        *self.lock() = Some(reason.into());
    }

    /// `None` when ready, else the reason.
    pub fn reason_not_ready(&self) -> Option<String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A panic while holding this lock cannot leave the Option half-written.
        self.reason_not_ready
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Clone)]
struct OpsState {
    registry: Registry,
    readiness: Readiness,
}

/// `/healthz` (alive), `/readyz` (can serve), `/metrics` (Prometheus text).
pub fn operations_routes(registry: Registry, readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(OpsState {
            registry,
            readiness,
        })
}

async fn readyz(State(state): State<OpsState>) -> Response {
    match state.readiness.reason_not_ready() {
        None => (StatusCode::OK, "ready").into_response(),
        Some(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason).into_response(),
    }
}

async fn metrics(State(state): State<OpsState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::metrics::render(&state.registry),
    )
        .into_response()
}

/// A bound, not yet serving, HTTP server.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    router: Router,
}

impl HttpServer {
    /// Binds the listener (port 0 picks a free port).
    pub async fn bind(settings: &HttpSettings, router: Router) -> Result<Self> {
        let listener = TcpListener::bind(settings.address()).await?;
        Ok(Self { listener, router })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops this process");
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
