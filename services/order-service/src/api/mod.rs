//! The REST API, version 1, and its OpenAPI document.

mod orders;
mod representation;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use deadpool_postgres::Pool;
use utoipa::OpenApi;

use crate::consumers::ConsumerLookup;
use crate::metrics::OrderMetrics;

pub use representation::OrderRepresentation;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The order database.
    pub pool: Pool,
    /// consumer-service (REST or gRPC), behind timeout, bulkhead and circuit breaker.
    pub consumers: ConsumerLookup,
    /// Validation deadline for new orders, in ms.
    pub validation_deadline_ms: u64,
    /// How long a new order waits for its restaurant to reach the menu replica.
    pub replica_wait: std::time::Duration,
    /// Order outcome counters.
    pub metrics: OrderMetrics,
}

/// The OpenAPI 3.1 document, generated from the handlers and types.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "FTGO order-service", version = "1"),
    paths(orders::create_order, orders::get_order, orders::cancel_order),
    components(schemas(
        orders::CreateOrder,
        orders::Expansion,
        OrderRepresentation,
        representation::Link,
        representation::Links,
        platform::contracts::LineItem,
        platform::http::Problem,
        crate::domain::OrderState
    ))
)]
pub struct ApiDoc;

/// The `/v1` routes plus `/openapi.json`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/orders", post(orders::create_order))
        .route("/v1/orders/{id}", get(orders::get_order))
        .route("/v1/orders/{id}/cancel", post(orders::cancel_order))
        .with_state(Arc::new(state))
        .merge(platform::http::openapi_route(ApiDoc::openapi()))
}
