//! Consumer-group membership on Apache Kafka, measured: what static membership (KIP-345,
//! `group.instance.id`) buys after a crash and what it costs in a rolling update. The
//! harness's and the chart's default (dynamic membership) rests on these figures
//! (docs/reliability.md, "Consumer groups").
//!
//! Each test prints its stall: how long orders waited for consumer-service's validation
//! after the membership change. The assertions are about recovery (every order reaches
//! its outcome), not about time.

use std::time::{Duration, Instant};

use ftgo_harness::{GROUP_INSTANCE_ID, Stack, StackOptions};
use uuid::Uuid;

use crate::support::System;

/// Orders placed after the change, each by a consumer of its own: consumer-service's
/// commands are keyed by consumer, so twelve keys reach each of its three partitions
/// with near certainty (a partition without one would hide its stall).
const ORDERS: usize = 12;
const WITHIN: Duration = Duration::from_secs(120);

async fn system(static_membership: bool) -> System {
    let stack = Stack::start_with(StackOptions {
        services: true,
        static_membership,
        ..StackOptions::default()
    })
    .await
    .expect("the system starts");
    System {
        stack,
        http: reqwest::Client::new(),
    }
}

/// Places one order per consumer and waits for each to be VALIDATED; returns the longest
/// time one took from its 201.
async fn longest_validation(system: &mut System, consumers: &[Uuid], restaurant: Uuid) -> Duration {
    let mut placed = Vec::new();
    for consumer in consumers {
        let order = system
            .place_order(*consumer, restaurant, &[("thali", 1)])
            .await;
        placed.push((order["id"].as_str().unwrap().to_owned(), Instant::now()));
    }
    let mut longest = Duration::ZERO;
    for (id, at) in placed {
        system.wait_for_state(&id, "VALIDATED", WITHIN).await;
        longest = longest.max(at.elapsed());
    }
    longest
}

/// [`ORDERS`] consumers and a restaurant, with one order VALIDATED: the groups formed.
async fn warmed_up(system: &mut System) -> (Vec<Uuid>, Uuid) {
    let mut consumers = Vec::new();
    for n in 0..ORDERS {
        consumers.push(system.create_consumer(&format!("Grace {n}")).await);
    }
    let restaurant = system.create_restaurant(&[("thali", 900)]).await;
    let order = system
        .place_order(consumers[0], restaurant, &[("thali", 1)])
        .await;
    system
        .wait_for_state(order["id"].as_str().unwrap(), "VALIDATED", WITHIN)
        .await;
    (consumers, restaurant)
}

#[tokio::test]
async fn without_static_membership_a_service_killed_and_restarted_resumes_consuming() {
    killed_and_restarted(false).await;
}

#[tokio::test]
async fn with_static_membership_a_service_killed_and_restarted_takes_its_place_at_once() {
    killed_and_restarted(true).await;
}

/// A crash: kill -9, and the process started again (as the kubelet restarts a container
/// in place, under the same pod name).
async fn killed_and_restarted(static_membership: bool) {
    let mut system = system(static_membership).await;
    let (consumers, restaurant) = warmed_up(&mut system).await;
    let service = system.stack.service("consumer-service", 0);
    service.kill9();
    service.restart().await.unwrap();
    service.wait_ready(WITHIN).await.unwrap();
    let stall = longest_validation(&mut system, &consumers, restaurant).await;
    eprintln!(
        "{} membership, consumer-service kill -9 and restart: every order VALIDATED, the \
         slowest after {:.1} s",
        membership(static_membership),
        stall.as_secs_f64()
    );
}

fn membership(static_membership: bool) -> &'static str {
    if static_membership {
        "static"
    } else {
        "dynamic"
    }
}

#[tokio::test]
async fn with_static_membership_a_rolling_update_strands_the_old_pods_partitions() {
    rolling_update(true).await;
}

#[tokio::test]
async fn without_static_membership_a_rolling_update_hands_partitions_over_at_once() {
    rolling_update(false).await;
}

/// A Deployment's rollout: a new pod (a new name, so a new `group.instance.id`) starts,
/// then the old one gets SIGTERM and stops gracefully.
async fn rolling_update(static_membership: bool) {
    let mut system = system(static_membership).await;
    let (consumers, restaurant) = warmed_up(&mut system).await;
    let env = [(GROUP_INSTANCE_ID, "consumer-service-new-pod")];
    let env: &[(&str, &str)] = if static_membership { &env } else { &[] };
    system
        .stack
        .start_service("consumer-service", env)
        .await
        .unwrap()
        .wait_ready(WITHIN)
        .await
        .unwrap();
    let exit = system.stack.service("consumer-service", 0).terminate();
    assert!(exit.is_some_and(|s| s.success()), "graceful stop: {exit:?}");
    let stall = longest_validation(&mut system, &consumers, restaurant).await;
    eprintln!(
        "{} membership, rolling update of consumer-service: every order VALIDATED, the \
         slowest after {:.1} s",
        membership(static_membership),
        stall.as_secs_f64()
    );
}
