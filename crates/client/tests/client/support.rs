//! The fake target each test switches at run time, the client under test and its metrics.

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::Registry;
use resilient_client::{CallError, ResilienceSettings, ResilientClient};
use runtime::config::HttpSettings;
use runtime::http::HttpServer;
use serde::{Deserialize, Serialize};

pub(crate) const TARGET: &str = "consumer-service";
/// Long enough that the rejections after opening fit in it even on a loaded machine.
pub(crate) const OPEN_WAIT: Duration = Duration::from_millis(500);
pub(crate) const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Consumer {
    pub(crate) id: u64,
    pub(crate) name: String,
}

/// What the fake consumer-service does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
pub(crate) enum Mode {
    Ok,
    Fail,
    Slow,
    NotFound,
    Garbage,
}

#[derive(Debug, Default)]
pub(crate) struct Behaviour {
    mode: AtomicU8,
    slow_ms: AtomicU64,
    hits: AtomicUsize,
    traceparent: Mutex<Option<String>>,
}

/// The fake target: one route, `GET /v1/consumers/{id}`.
#[derive(Debug, Clone)]
pub(crate) struct FakeTarget {
    pub(crate) base_url: String,
    behaviour: Arc<Behaviour>,
}

impl FakeTarget {
    pub(crate) async fn start() -> Self {
        let behaviour = Arc::new(Behaviour::default());
        behaviour.slow_ms.store(2000, Ordering::SeqCst);
        let router = Router::new()
            .route("/v1/consumers/{id}", get(consumer))
            .with_state(Arc::clone(&behaviour));
        let server = HttpServer::bind(&HttpSettings::default(), router)
            .await
            .unwrap();
        let base_url = format!("http://{}", server.local_addr().unwrap());
        tokio::spawn(server.run_until(std::future::pending()));
        Self {
            base_url,
            behaviour,
        }
    }

    pub(crate) fn set(&self, mode: Mode) {
        self.behaviour.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub(crate) fn set_slow(&self, delay: Duration) {
        self.behaviour
            .slow_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
        self.set(Mode::Slow);
    }

    pub(crate) fn hits(&self) -> usize {
        self.behaviour.hits.load(Ordering::SeqCst)
    }

    pub(crate) fn last_traceparent(&self) -> Option<String> {
        self.behaviour.traceparent.lock().unwrap().clone()
    }
}

pub(crate) async fn consumer(
    State(behaviour): State<Arc<Behaviour>>,
    Path(id): Path<u64>,
    headers: HeaderMap,
) -> Response {
    behaviour.hits.fetch_add(1, Ordering::SeqCst);
    *behaviour.traceparent.lock().unwrap() = headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let found = || {
        axum::Json(Consumer {
            id,
            name: "Ann".into(),
        })
        .into_response()
    };
    match behaviour.mode.load(Ordering::SeqCst) {
        m if m == Mode::Ok as u8 => found(),
        m if m == Mode::Fail as u8 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        m if m == Mode::Slow as u8 => {
            let delay = behaviour.slow_ms.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            found()
        }
        m if m == Mode::NotFound as u8 => StatusCode::NOT_FOUND.into_response(),
        _ => (StatusCode::OK, "this is not json").into_response(),
    }
}

/// Small timings so the tests are quick; each test changes what it is about.
pub(crate) fn settings() -> ResilienceSettings {
    ResilienceSettings {
        timeout_ms: 200,
        max_in_flight: 8,
        failure_rate_threshold: 0.5,
        sliding_window_size: 4,
        minimum_calls: 4,
        open_wait_ms: OPEN_WAIT.as_millis() as u64,
        half_open_calls: 2,
    }
}

pub(crate) fn client(
    target: &FakeTarget,
    settings: &ResilienceSettings,
) -> (ResilientClient, Registry) {
    let registry = runtime::metrics::registry().unwrap();
    let client = ResilientClient::new(TARGET, &target.base_url, settings, &registry).unwrap();
    (client, registry)
}

pub(crate) async fn fetch(client: &ResilientClient) -> Result<Option<Consumer>, CallError> {
    client.get_json::<Consumer>("/v1/consumers/7").await
}

/// The value of one series in the registry's text exposition, e.g.
/// `metric(&r, "ftgo_client_calls_total", &[("outcome", "ok")])`.
pub(crate) fn metric(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let text = runtime::metrics::render(registry);
    let labels: Vec<String> = labels
        .iter()
        .chain(&[("target", TARGET)])
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            let matches = rest.starts_with('{') && labels.iter().all(|l| rest.contains(l));
            matches.then(|| value.parse().ok())?
        })
}

pub(crate) fn outcomes(registry: &Registry, outcome: &str) -> f64 {
    metric(registry, "ftgo_client_calls_total", &[("outcome", outcome)]).unwrap()
}

pub(crate) fn transitions_to(registry: &Registry, to: &str) -> f64 {
    metric(
        registry,
        "ftgo_client_breaker_transitions_total",
        &[("to", to)],
    )
    .unwrap()
}

pub(crate) fn breaker_gauge(registry: &Registry) -> f64 {
    metric(registry, "ftgo_client_breaker_state", &[]).unwrap()
}

pub(crate) async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
