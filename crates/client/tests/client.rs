//! The resilient client against a real HTTP server whose behaviour each test switches at
//! run time, and which counts the requests it actually received.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::Registry;
use resilient_client::{
    BreakerState, CallError, ClientSettings, ResilienceSettings, ResilientClient, TransportKind,
};
use runtime::config::{ConfigSource, HttpSettings};
use runtime::http::HttpServer;
use serde::{Deserialize, Serialize};

const TARGET: &str = "consumer-service";
/// Long enough that the rejections after opening fit in it even on a loaded machine.
const OPEN_WAIT: Duration = Duration::from_millis(500);
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Consumer {
    id: u64,
    name: String,
}

/// What the fake consumer-service does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(u8)]
enum Mode {
    Ok,
    Fail,
    Slow,
    NotFound,
    Garbage,
}

#[derive(Debug, Default)]
struct Behaviour {
    mode: AtomicU8,
    slow_ms: AtomicU64,
    hits: AtomicUsize,
    traceparent: Mutex<Option<String>>,
}

/// The fake target: one route, `GET /v1/consumers/{id}`.
#[derive(Debug, Clone)]
struct FakeTarget {
    base_url: String,
    behaviour: Arc<Behaviour>,
}

impl FakeTarget {
    async fn start() -> Self {
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

    fn set(&self, mode: Mode) {
        self.behaviour.mode.store(mode as u8, Ordering::SeqCst);
    }

    fn set_slow(&self, delay: Duration) {
        self.behaviour
            .slow_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
        self.set(Mode::Slow);
    }

    fn hits(&self) -> usize {
        self.behaviour.hits.load(Ordering::SeqCst)
    }

    fn last_traceparent(&self) -> Option<String> {
        self.behaviour.traceparent.lock().unwrap().clone()
    }
}

async fn consumer(
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
fn settings() -> ResilienceSettings {
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

fn client(target: &FakeTarget, settings: &ResilienceSettings) -> (ResilientClient, Registry) {
    let registry = runtime::metrics::registry().unwrap();
    let client = ResilientClient::new(TARGET, &target.base_url, settings, &registry).unwrap();
    (client, registry)
}

async fn fetch(client: &ResilientClient) -> Result<Option<Consumer>, CallError> {
    client.get_json::<Consumer>("/v1/consumers/7").await
}

/// The value of one series in the registry's text exposition, e.g.
/// `metric(&r, "ftgo_client_calls_total", &[("outcome", "ok")])`.
fn metric(registry: &Registry, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
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

fn outcomes(registry: &Registry, outcome: &str) -> f64 {
    metric(registry, "ftgo_client_calls_total", &[("outcome", outcome)]).unwrap()
}

fn transitions_to(registry: &Registry, to: &str) -> f64 {
    metric(
        registry,
        "ftgo_client_breaker_transitions_total",
        &[("to", to)],
    )
    .unwrap()
}

fn breaker_gauge(registry: &Registry) -> f64 {
    metric(registry, "ftgo_client_breaker_state", &[]).unwrap()
}

async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn answers_decode_404_is_none_and_neither_counts_as_a_failure() {
    let target = FakeTarget::start().await;
    let (client, registry) = client(&target, &settings());

    target.set(Mode::Ok);
    let found = fetch(&client).await.unwrap();
    assert_eq!(
        found,
        Some(Consumer {
            id: 7,
            name: "Ann".into()
        })
    );

    target.set(Mode::NotFound);
    for _ in 0..4 {
        assert_eq!(fetch(&client).await, Ok(None));
    }
    target.set(Mode::Garbage);
    assert!(matches!(fetch(&client).await, Err(CallError::Decode(_))));
    assert_eq!(
        client.breaker_state(),
        BreakerState::Closed,
        "404 and an undecodable 2xx are answers, not failures of the target"
    );

    assert_eq!(outcomes(&registry, "ok"), 1.0);
    assert_eq!(outcomes(&registry, "not_found"), 4.0);
    assert_eq!(outcomes(&registry, "decode"), 1.0);
    assert_eq!(outcomes(&registry, "status"), 0.0);
    assert_eq!(
        metric(&registry, "ftgo_client_call_duration_seconds_count", &[]),
        Some(6.0)
    );
    assert_eq!(breaker_gauge(&registry), 0.0);
}

#[tokio::test]
async fn the_traceparent_is_passed_on_and_a_malformed_one_dropped() {
    let target = FakeTarget::start().await;
    let (client, _registry) = client(&target, &settings());
    target.set(Mode::Ok);

    let traced = client
        .get_json_traced::<Consumer>("/v1/consumers/7", Some(TRACEPARENT))
        .await;
    assert!(matches!(traced, Ok(Some(_))));
    assert_eq!(target.last_traceparent().as_deref(), Some(TRACEPARENT));

    let malformed = client
        .get_json_traced::<Consumer>("/v1/consumers/7", Some("bad\nvalue"))
        .await;
    assert!(matches!(malformed, Ok(Some(_))), "{malformed:?}");
    assert_eq!(target.last_traceparent(), None);
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let target = FakeTarget::start().await;
    let (client, registry) = client(&target, &settings());
    target.set_slow(Duration::from_secs(2));

    let started = Instant::now();
    assert_eq!(fetch(&client).await, Err(CallError::Timeout));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(200) && waited < Duration::from_millis(1500),
        "{waited:?}"
    );
    assert_eq!(outcomes(&registry, "timeout"), 1.0);
}

#[tokio::test]
async fn an_unreachable_target_is_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let registry = runtime::metrics::registry().unwrap();
    let client = ResilientClient::new(
        TARGET,
        &format!("http://127.0.0.1:{port}"),
        &settings(),
        &registry,
    )
    .unwrap();

    let error = fetch(&client).await.unwrap_err();
    assert!(matches!(error, CallError::Transport(_)), "{error:?}");
    assert_eq!(outcomes(&registry, "transport"), 1.0);
}

#[tokio::test]
async fn failures_open_the_breaker_which_rejects_without_calling_then_recovers() {
    let target = FakeTarget::start().await;
    let (client, registry) = client(&target, &settings());

    // 5xx and timeouts are failures: 4 of the last 4 calls (minimum 4, threshold 50 %).
    target.set(Mode::Fail);
    for _ in 0..3 {
        assert_eq!(fetch(&client).await, Err(CallError::Status(500)));
        assert_eq!(client.breaker_state(), BreakerState::Closed);
    }
    target.set_slow(Duration::from_secs(1));
    assert_eq!(fetch(&client).await, Err(CallError::Timeout));
    assert_eq!(client.breaker_state(), BreakerState::Open);
    assert_eq!(breaker_gauge(&registry), 1.0);
    assert_eq!(transitions_to(&registry, "open"), 1.0);

    // Open: rejected at once, and the target never sees these calls.
    target.set(Mode::Ok);
    let seen = target.hits();
    assert_eq!(seen, 4);
    for _ in 0..5 {
        assert_eq!(fetch(&client).await, Err(CallError::BreakerOpen));
    }
    assert_eq!(
        target.hits(),
        seen,
        "an open breaker must not call the target"
    );
    assert_eq!(outcomes(&registry, "breaker_open"), 5.0);

    // After open_wait (the behaviour under test, hence a sleep) trial calls go through.
    tokio::time::sleep(OPEN_WAIT).await;
    assert_eq!(
        client.breaker_state(),
        BreakerState::Open,
        "until the next call"
    );
    assert!(matches!(fetch(&client).await, Ok(Some(_))));
    assert_eq!(client.breaker_state(), BreakerState::HalfOpen);
    assert_eq!(breaker_gauge(&registry), 2.0);
    assert_eq!(transitions_to(&registry, "half_open"), 1.0);

    assert!(matches!(fetch(&client).await, Ok(Some(_))));
    assert_eq!(
        client.breaker_state(),
        BreakerState::Closed,
        "2 good trials"
    );
    assert_eq!(breaker_gauge(&registry), 0.0);
    assert_eq!(transitions_to(&registry, "closed"), 1.0);
    assert_eq!(target.hits(), seen + 2);

    // Closed again with an empty window: one failure is no verdict.
    target.set(Mode::Fail);
    assert_eq!(fetch(&client).await, Err(CallError::Status(500)));
    assert_eq!(client.breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn a_failed_trial_call_opens_the_breaker_again() {
    let target = FakeTarget::start().await;
    let (client, registry) = client(&target, &settings());
    target.set(Mode::Fail);
    for _ in 0..4 {
        assert_eq!(fetch(&client).await, Err(CallError::Status(500)));
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);

    tokio::time::sleep(OPEN_WAIT).await;
    assert_eq!(
        fetch(&client).await,
        Err(CallError::Status(500)),
        "the trial"
    );
    assert_eq!(client.breaker_state(), BreakerState::Open);
    let seen = target.hits();
    assert_eq!(fetch(&client).await, Err(CallError::BreakerOpen));
    assert_eq!(target.hits(), seen);
    assert_eq!(transitions_to(&registry, "open"), 2.0);
    assert_eq!(transitions_to(&registry, "half_open"), 1.0);
    assert_eq!(transitions_to(&registry, "closed"), 0.0);
}

#[tokio::test]
async fn recent_failures_open_the_breaker_however_many_successes_came_before() {
    // tower-resilience's own count window would need as many failures as there were
    // successes since the last transition; ours looks at the last 4 calls only.
    let target = FakeTarget::start().await;
    let (client, _registry) = client(&target, &settings());
    target.set(Mode::Ok);
    for _ in 0..30 {
        assert!(fetch(&client).await.unwrap().is_some());
    }
    target.set(Mode::Fail);
    assert_eq!(fetch(&client).await, Err(CallError::Status(500)));
    assert_eq!(client.breaker_state(), BreakerState::Closed, "1 of 4");
    assert_eq!(fetch(&client).await, Err(CallError::Status(500)));
    assert_eq!(client.breaker_state(), BreakerState::Open, "2 of 4");
}

#[tokio::test]
async fn the_bulkhead_rejects_calls_beyond_max_in_flight() {
    let target = FakeTarget::start().await;
    let settings = ResilienceSettings {
        max_in_flight: 2,
        timeout_ms: 5000,
        ..settings()
    };
    let (client, registry) = client(&target, &settings);
    target.set_slow(Duration::from_millis(500));

    let in_flight: Vec<_> = (0..2)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { fetch(&client).await })
        })
        .collect();
    eventually("both calls to reach the target", || target.hits() == 2).await;

    let started = Instant::now();
    assert_eq!(fetch(&client).await, Err(CallError::Bulkhead));
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "rejected at once, not after a slot frees (500 ms)"
    );
    assert_eq!(
        target.hits(),
        2,
        "a rejected call must not reach the target"
    );

    for call in in_flight {
        assert!(matches!(call.await.unwrap(), Ok(Some(_))));
    }
    target.set(Mode::Ok);
    assert!(
        matches!(fetch(&client).await, Ok(Some(_))),
        "slots released"
    );
    assert_eq!(outcomes(&registry, "bulkhead"), 1.0);
    assert_eq!(outcomes(&registry, "ok"), 3.0);
    assert_eq!(
        client.breaker_state(),
        BreakerState::Closed,
        "our own overload is not a failure of the target"
    );
}

#[tokio::test]
async fn clients_of_different_targets_share_one_registry() {
    let target = FakeTarget::start().await;
    let registry = runtime::metrics::registry().unwrap();
    let consumers = ResilientClient::new(TARGET, &target.base_url, &settings(), &registry).unwrap();
    let restaurants = ResilientClient::new(
        "restaurant-service",
        &target.base_url,
        &settings(),
        &registry,
    )
    .unwrap();
    target.set(Mode::Ok);
    assert!(fetch(&consumers).await.unwrap().is_some());
    assert!(fetch(&restaurants).await.unwrap().is_some());

    let text = runtime::metrics::render(&registry);
    for target in [TARGET, "restaurant-service"] {
        let series = format!(
            "ftgo_client_calls_total{{outcome=\"ok\",target=\"{target}\",transport=\"rest\"}} 1"
        );
        assert!(text.contains(&series), "{series} not in\n{text}");
    }

    let again = ResilientClient::new(TARGET, &target.base_url, &settings(), &registry);
    assert!(
        matches!(again, Err(resilient_client::Error::Metrics(_))),
        "{again:?}"
    );
}

#[test]
fn settings_have_defaults_and_name_bad_keys() {
    #[derive(Debug, Deserialize)]
    struct Config {
        consumer_service: ClientSettings,
    }
    let load = |pairs: &[(&str, &str)]| {
        ConfigSource {
            file: None,
            env: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect::<HashMap<_, _>>(),
            ),
        }
        .load::<Config>()
    };

    let config = load(&[
        (
            "FTGO_CONSUMER_SERVICE__BASE_URL",
            "http://consumer-service:8080",
        ),
        ("FTGO_CONSUMER_SERVICE__RESILIENCE__TIMEOUT_MS", "250"),
    ])
    .unwrap();
    assert_eq!(
        config.consumer_service.base_url,
        "http://consumer-service:8080"
    );
    assert_eq!(
        config.consumer_service.resilience,
        ResilienceSettings {
            timeout_ms: 250,
            ..ResilienceSettings::default()
        }
    );
    assert_eq!(config.consumer_service.transport, TransportKind::Rest);
    let base_url = (
        "FTGO_CONSUMER_SERVICE__BASE_URL",
        "http://consumer-service:8080",
    );
    let grpc = load(&[base_url, ("FTGO_CONSUMER_SERVICE__TRANSPORT", "grpc")]).unwrap();
    assert_eq!(grpc.consumer_service.transport, TransportKind::Grpc);
    let missing = grpc.consumer_service.required_grpc_url().unwrap_err();
    assert!(missing.to_string().contains("grpc_url"), "{missing}");
    let soap = load(&[base_url, ("FTGO_CONSUMER_SERVICE__TRANSPORT", "soap")]).unwrap_err();
    assert!(soap.to_string().contains("transport"), "{soap}");
    let defaults = ResilienceSettings::default();
    assert_eq!(
        (
            defaults.timeout_ms,
            defaults.max_in_flight,
            defaults.failure_rate_threshold,
            defaults.sliding_window_size,
            defaults.minimum_calls,
            defaults.open_wait_ms,
            defaults.half_open_calls
        ),
        (1000, 32, 0.5, 20, 5, 5000, 3)
    );

    let unknown = load(&[
        (
            "FTGO_CONSUMER_SERVICE__BASE_URL",
            "http://consumer-service:8080",
        ),
        ("FTGO_CONSUMER_SERVICE__RESILIENCE__TIMEOUT", "250"),
    ])
    .unwrap_err()
    .to_string();
    assert!(unknown.contains("timeout"), "{unknown}");

    let registry = runtime::metrics::registry().unwrap();
    let zero_rate = ResilienceSettings {
        failure_rate_threshold: 0.0,
        ..ResilienceSettings::default()
    };
    let error = ResilientClient::new(
        TARGET,
        "http://consumer-service:8080",
        &zero_rate,
        &registry,
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("resilience.failure_rate_threshold"),
        "{error}"
    );
    for bad in [
        "https://consumer-service",
        "consumer-service:8080",
        "not a url",
    ] {
        let error = ResilientClient::new(TARGET, bad, &ResilienceSettings::default(), &registry)
            .unwrap_err()
            .to_string();
        assert!(error.contains("base_url"), "{bad}: {error}");
    }
}
