//! The bulkhead, several clients in one registry, and the settings' defaults and errors.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use resilient_client::{
    BreakerState, CallError, ClientSettings, ResilienceSettings, ResilientClient, TransportKind,
};
use runtime::config::ConfigSource;
use serde::Deserialize;

use crate::support::*;

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
