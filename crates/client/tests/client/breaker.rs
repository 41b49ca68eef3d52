//! The circuit breaker: opening on failures, rejecting without calling, recovering.

use std::time::Duration;

use resilient_client::{BreakerState, CallError};

use crate::support::*;

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
