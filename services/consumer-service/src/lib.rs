//! consumer-service: the FTGO service that knows who may order.
//!
//! It owns the `consumer_service` database and two ways in:
//!
//! - a REST API ([`api`]) to register and read consumers, documented as OpenAPI 3.1;
//! - a gRPC server ([`grpc`]) on its own port with the same lookup, so order-service can
//!   use either transport;
//! - the `ValidateConsumerInfo` command that order-service sends while an order is
//!   pending. The reply (`ConsumerValidated` / `ConsumerRejected`) is published in the
//!   unit of work that records the command as processed, so a redelivered command is
//!   answered exactly once and a reply exists iff the command was handled.
//!
//! Layers: [`api`] and [`grpc`] translate their transport to the use cases in
//! [`application`], which do the work of [`domain`] through [`repository`] in a
//! `messaging::UnitOfWork`.
//!
//! [`build`] assembles everything; `main.rs` only reads settings and runs it, so tests
//! run the same assembly in-process (HTTP and gRPC on port 0).

pub mod api;
pub mod application;
pub mod config;
pub mod domain;
mod error;
pub mod grpc;
pub mod repository;

use std::sync::Arc;

use contracts::{consumer, order};
use messaging::Subscription;
use messaging::validation::ValidationHandler;
use service::{Platform, ServiceApp, Store};

pub use config::Settings;
pub use error::{Error, Result};

/// Consumer group and deduplication namespace of the command handler. Every instance
/// uses it, so instances compete for the command partitions.
pub const SUBSCRIBER: &str = "consumer-service";

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Creates or upgrades the service's own tables (refinery's default history table; the
/// platform's outbox and processed-message tables keep their own histories).
pub async fn migrate(mut client: tokio_postgres::Client) -> runtime::Result<()> {
    runtime::db::run_migrations(&mut client, embedded::migrations::runner()).await
}

/// Connects and migrates the database, makes sure the channels exist, binds the HTTP
/// and gRPC servers and starts the command consumer. The result serves once run.
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
        .ensure_topics(&[consumer::COMMANDS, order::REPLIES])
        .await?;
    let api = api::router(Store::new(platform.pool.clone(), platform.outbox.clone()))?;
    let grpc = grpc::ConsumerGrpc::routes(platform.pool.clone(), &platform.registry)?;
    let mut app = ServiceApp::build(platform, &settings.http, api).await?;
    app.serve_grpc(&settings.grpc, grpc).await?;
    app.consume(
        Subscription {
            subscriber: SUBSCRIBER.into(),
            topics: vec![consumer::COMMANDS.into()],
        },
        Arc::new(ValidationHandler(application::ValidateConsumer)),
    );
    Ok(app)
}
