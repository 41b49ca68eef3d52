//! Answers, absences, timeouts and unreachable targets: what a call ends in.

use std::time::{Duration, Instant};

use resilient_client::{BreakerState, CallError, ResilientClient};

use crate::support::*;

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
