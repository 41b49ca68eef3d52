//! The REST API under `/v1`, and its OpenAPI 3.1 document at `/openapi.json`.
//!
//! Every error is `application/problem+json`: body errors name the field
//! ([`platform::http::ValidJson`]), a malformed id names `id` ([`platform::http::IdPath`]), and
//! database outages are 503, never 500.

mod consumers;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use deadpool_postgres::Pool;
use platform::http::Problem;
use utoipa::OpenApi;

pub use consumers::{ConsumerView, NewConsumer};

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pool: Pool,
}

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
pub fn router(pool: Pool) -> Router {
    Router::new()
        .route("/v1/consumers", post(consumers::create_consumer))
        .route("/v1/consumers/{id}", get(consumers::get_consumer))
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this resource does not support the method",
            )
        })
        .with_state(AppState { pool })
        .merge(platform::http::openapi_route(ApiDoc::openapi()))
}
