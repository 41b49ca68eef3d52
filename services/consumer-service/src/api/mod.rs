//! The REST API under `/v1`, and its OpenAPI 3.1 document at `/openapi.json`.
//!
//! Every error is `application/problem+json`: body errors name the field
//! ([`service::http::ValidJson`]), a malformed id names `id` ([`service::http::IdPath`]),
//! database outages are 503, and a consumer stored corrupt is a 500 naming it.

mod consumers;

use axum::Router;
use axum::routing::{get, post};
use service::Store;
use service::http::Problem;
use utoipa::OpenApi;

use crate::{Error, Result};
pub use consumers::{ConsumerView, NewConsumer};

/// The service's OpenAPI document, generated from the handlers' annotations so it
/// cannot drift from the code.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "consumer-service",
        description = "FTGO consumers: who may place orders, and up to which total."
    ),
    paths(consumers::create_consumer, consumers::get_consumer),
    components(schemas(Problem)),
    tags((name = "consumers", description = "Consumer registration"))
)]
pub struct ApiDoc;

/// The API routes (state applied) plus `/openapi.json`.
pub fn router(store: Store) -> Result<Router> {
    let routes = Router::new()
        .route("/v1/consumers", post(consumers::create_consumer))
        .route("/v1/consumers/{id}", get(consumers::get_consumer));
    service::http::api_router(routes, store, &ApiDoc::openapi()).map_err(Error::from)
}
