//! restaurant-service: the FTGO service that owns restaurants and their menus.
//!
//! It owns the `restaurant_service` database and:
//!
//! - a REST API ([`api`]) to create restaurants and revise their menus. Each change
//!   appends its event (`RestaurantCreated`, `MenuRevised`) to the outbox in the same
//!   transaction, so the event exists iff the change committed; order-service keeps its
//!   menu replica from these events instead of calling this service;
//! - the `ValidateOrderDetails` command ([`handlers`]) that order-service sends while an
//!   order is pending, answered through the outbox in the transaction that records the
//!   command as processed (answered once, even when redelivered).
//!
//! [`build`] assembles everything; `main.rs` only reads settings and runs it.

pub mod api;
pub mod config;
pub mod domain;
mod error;
pub mod handlers;
pub mod repository;

use std::sync::Arc;

use platform::contracts::{order, restaurant};
use platform::messaging::Subscription;
use platform::service::{Platform, ServiceApp};

pub use config::Settings;
pub use error::{Error, Result};

/// Consumer group and deduplication namespace of the command handler. Every instance
/// uses it, so instances compete for the command partitions.
pub const SUBSCRIBER: &str = "restaurant-service";

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Creates or upgrades the service's own tables (refinery's default history table; the
/// platform's outbox and processed-message tables keep their own histories).
pub async fn migrate(mut client: tokio_postgres::Client) -> platform::Result<()> {
    platform::db::run_migrations(&mut client, embedded::migrations::runner()).await
}

/// Connects and migrates the database, makes sure the channels exist, binds the HTTP
/// server and starts the command consumer. The result serves once run.
pub async fn build(settings: Settings) -> Result<ServiceApp> {
    let platform = Platform::start(
        &settings.database,
        &settings.kafka,
        &settings.outbox,
        &settings.messaging,
        migrate,
    )
    .await?;
    // The reply channel is order-service's, but replies must not be refused for a
    // missing topic just because order-service has not started yet.
    platform
        .ensure_topics(&[restaurant::COMMANDS, restaurant::EVENTS, order::REPLIES])
        .await?;
    let api = api::router(platform.pool.clone());
    let mut app = ServiceApp::build(platform, &settings.http, api).await?;
    app.consume(
        Subscription {
            subscriber: SUBSCRIBER.into(),
            topics: vec![restaurant::COMMANDS.into()],
        },
        Arc::new(handlers::ValidateOrderDetailsHandler),
    );
    Ok(app)
}
