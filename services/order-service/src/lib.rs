//! order-service: the FTGO order workflow.
//!
//! - `POST /v1/orders` accepts an order at once (PENDING): one transaction writes the
//!   order, `OrderCreated` and the commands `ValidateConsumerInfo` and
//!   `ValidateOrderDetails` through the outbox.
//! - Replies on `order-service.replies` move it to VALIDATED or REJECTED; a sweeper
//!   rejects it when no complete answer arrives before the deadline.
//! - Prices come from a replica of restaurant menus kept from `restaurant.events`: no
//!   synchronous call to restaurant-service.
//! - `?expand=consumer` calls consumer-service through the resilient client, over REST
//!   or gRPC as configured ([`consumers`]), falling back to a degraded answer.

pub mod api;
pub mod config;
pub mod consumers;
pub mod domain;
pub mod handlers;
mod messages;
pub mod metrics;
mod repository;
mod sweeper;

use std::sync::Arc;
use std::time::Duration;

use platform::contracts::{consumer, order, restaurant};
use platform::messaging::Subscription;
use platform::service::{Platform, ServiceApp};

pub use config::Settings;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Connects, migrates, and binds order-service, with its consumers and sweeper.
pub async fn build(settings: Settings) -> platform::Result<ServiceApp> {
    let platform = Platform::start(
        &settings.database,
        &settings.kafka,
        &settings.outbox,
        &settings.messaging,
        |mut client| async move {
            platform::db::run_migrations(&mut client, embedded::migrations::runner()).await
        },
    )
    .await?;
    platform
        .ensure_topics(&[
            order::EVENTS,
            order::REPLIES,
            consumer::COMMANDS,
            restaurant::COMMANDS,
            restaurant::EVENTS,
        ])
        .await?;
    let consumers =
        consumers::ConsumerLookup::from_settings(&settings.consumer_service, &platform.registry)?;
    let metrics = metrics::OrderMetrics::register(&platform.registry)?;
    let pool = platform.pool.clone();
    let api = api::router(api::ApiState {
        pool: pool.clone(),
        consumers,
        validation_deadline_ms: settings.orders.validation_deadline_ms,
        replica_wait: std::time::Duration::from_millis(settings.orders.replica_wait_ms),
        metrics: metrics.clone(),
    });
    let mut app = ServiceApp::build(platform, &settings.http, api).await?;
    app.consume(
        Subscription {
            subscriber: "order-service".into(),
            topics: vec![order::REPLIES.into()],
        },
        Arc::new(handlers::replies::ValidationReplies::new(metrics.clone())),
    );
    app.consume(
        Subscription {
            subscriber: "order-service.restaurant-replica".into(),
            topics: vec![restaurant::EVENTS.into()],
        },
        Arc::new(handlers::replica::RestaurantReplica),
    );
    let interval = Duration::from_millis(settings.orders.sweep_interval_ms);
    app.spawn(move |stop| sweeper::run(pool, interval, metrics, stop));
    Ok(app)
}
