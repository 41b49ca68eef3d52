//! order-service: the FTGO order workflow.
//!
//! - `POST /v1/orders` accepts an order at once (PENDING): one unit of work writes the
//!   order, `OrderCreated` and the commands `ValidateConsumerInfo` and
//!   `ValidateOrderDetails` through the outbox.
//! - Replies on `order-service.replies` move it to VALIDATED or REJECTED; a sweeper
//!   rejects it when no complete answer arrives before the deadline.
//! - Prices come from a replica of restaurant menus kept from `restaurant.events`: no
//!   synchronous call to restaurant-service.
//! - `?expand=consumer` calls consumer-service through the resilient client, over REST
//!   or gRPC as configured ([`consumers`]), falling back to a degraded answer.
//!
//! Layers: [`api`] (HTTP) and [`handlers`] (Kafka) only translate into the use cases of
//! [`application`], which work on the [`domain`] through the `repository` and publish
//! through `messages`, the one place that knows the Kafka contracts.

pub mod api;
pub mod application;
pub mod config;
pub mod consumers;
pub mod domain;
mod error;
pub mod handlers;
mod messages;
pub mod metrics;
mod repository;
mod sweeper;

use std::sync::Arc;
use std::time::Duration;

use contracts::{consumer, order, restaurant};
use messaging::Subscription;
use service::{Platform, ServiceApp};

pub use config::Settings;
pub use error::{Error, Result};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Connects, migrates, and binds order-service, with its consumers and sweeper. Every
/// port comes from `settings` (0 picks a free one), and nothing is global, so tests
/// build and run it inside their own process, several at once.
pub async fn build(settings: Settings) -> Result<ServiceApp> {
    let platform = Platform::start(
        &settings.database,
        &settings.kafka,
        &settings.outbox,
        &settings.messaging,
        |mut client| async move {
            runtime::db::run_migrations(&mut client, embedded::migrations::runner()).await
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
    let application = application::Application::new(
        platform.pool.clone(),
        platform.outbox.clone(),
        metrics::OrderMetrics::register(&platform.registry)?,
        settings.orders.validation_deadline_ms,
        Duration::from_millis(settings.orders.replica_wait_ms),
    );
    let api = api::router(api::ApiState {
        application: application.clone(),
        consumers,
    })?;
    let mut app = ServiceApp::build(platform, &settings.http, api).await?;
    app.consume(
        Subscription {
            subscriber: "order-service".into(),
            topics: vec![order::REPLIES.into()],
        },
        Arc::new(handlers::replies::ValidationReplies(application.clone())),
    );
    app.consume(
        Subscription {
            subscriber: "order-service.restaurant-replica".into(),
            topics: vec![restaurant::EVENTS.into()],
        },
        Arc::new(handlers::replica::RestaurantReplica),
    );
    let interval = Duration::from_millis(settings.orders.sweep_interval_ms);
    app.spawn(move |stop| sweeper::run(application, interval, stop));
    Ok(app)
}
