//! The REST API under `/v1`, and its OpenAPI 3.1 document at `/openapi.json`.
//!
//! Every error is `application/problem+json`: body errors name the field
//! ([`service::http::ValidJson`]), a malformed id names `id` ([`service::http::IdPath`]),
//! database outages are 503, and a consumer stored corrupt is a 500 naming it.

mod consumers;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use deadpool_postgres::{Object, Pool};
use messaging::Outbox;
use service::http::Problem;
use utoipa::OpenApi;

use crate::{Error, Result};
pub use consumers::{ConsumerView, NewConsumer};

/// What the handlers share: the pool to read on, the outbox units of work begin on.
#[derive(Debug, Clone)]
pub struct AppState {
    pool: Pool,
    outbox: Outbox,
}

impl AppState {
    /// A pooled connection (503 when the database is unavailable).
    async fn connection(&self) -> Result<Object> {
        Ok(runtime::db::connection(&self.pool).await?)
    }
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
pub fn router(pool: Pool, outbox: Outbox) -> Result<Router> {
    Ok(Router::new()
        .route("/v1/consumers", post(consumers::create_consumer))
        .route("/v1/consumers/{id}", get(consumers::get_consumer))
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this resource does not support the method",
            )
        })
        .with_state(AppState { pool, outbox })
        .merge(service::http::openapi_route(&ApiDoc::openapi()).map_err(Error::from)?))
}
