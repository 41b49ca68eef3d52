//! The REST API, version 1, and its OpenAPI document.

mod orders;
mod representation;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::application::Application;
use crate::consumers::ConsumerLookup;

pub use representation::OrderRepresentation;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The use cases the handlers translate requests into.
    pub application: Application,
    /// consumer-service (REST or gRPC), behind timeout, bulkhead and circuit breaker.
    pub consumers: ConsumerLookup,
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
        representation::LineItem,
        service::http::Problem,
        representation::OrderState
    ))
)]
pub struct ApiDoc;

/// The `/v1` routes plus `/openapi.json`.
pub fn router(state: ApiState) -> service::Result<Router> {
    let routes = Router::new()
        .route("/v1/orders", post(orders::create_order))
        .route("/v1/orders/{id}", get(orders::get_order))
        .route("/v1/orders/{id}/cancel", post(orders::cancel_order));
    service::http::api_router(routes, Arc::new(state), &ApiDoc::openapi())
}
