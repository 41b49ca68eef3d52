//! restaurant-service: the FTGO service that owns restaurants and their menus.
//!
//! It owns the `restaurant_service` database and:
//!
//! - a REST API ([`api`]) to create restaurants and revise their menus. Each change
//!   publishes its event (`RestaurantCreated`, `MenuRevised`) in the same unit of work,
//!   so the event exists iff the change committed; order-service keeps its menu replica
//!   from these events instead of calling this service;
//! - the `ValidateOrderDetails` command that order-service sends while an order is
//!   pending, answered in the unit of work that records the command as processed
//!   (answered once, even when redelivered).
//!
//! Layers: [`api`] translates HTTP to the use cases in [`application`], which do the
//! work of [`domain`] through [`repository`] in a `messaging::UnitOfWork`; [`contract`]
//! is the one place the domain meets the published language.
//!
//! [`build`] assembles everything; `main.rs` only reads settings and runs it, so tests
//! run the same assembly in-process (on port 0).

pub mod api;
pub mod application;
pub mod config;
mod contract;
pub mod domain;
mod error;
pub mod repository;

use std::sync::Arc;

use contracts::{order, restaurant};
use messaging::Subscription;
use messaging::validation::ValidationHandler;
use service::{Platform, ServiceApp, Store};

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
pub async fn migrate(mut client: tokio_postgres::Client) -> runtime::Result<()> {
    runtime::db::run_migrations(&mut client, embedded::migrations::runner()).await
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
    let api = api::router(Store::new(platform.pool.clone(), platform.outbox.clone()))?;
    let mut app = ServiceApp::build(platform, &settings.http, api).await?;
    app.consume(
        Subscription {
            subscriber: SUBSCRIBER.into(),
            topics: vec![restaurant::COMMANDS.into()],
        },
        Arc::new(ValidationHandler(application::ValidateOrderDetails)),
    );
    Ok(app)
}
