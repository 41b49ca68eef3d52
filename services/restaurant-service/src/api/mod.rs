//! The REST API under `/v1`, and its OpenAPI 3.1 document at `/openapi.json`.
//!
//! Every error is `application/problem+json`: body errors name the field
//! (`menu[1].price_cents`), a malformed id names `id` ([`service::http::IdPath`]),
//! database outages are 503, and a restaurant stored corrupt is a 500 naming it.

mod representations;
pub mod restaurants;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use std::future::Future;
use std::pin::Pin;

use deadpool_postgres::{Object, Pool};
use messaging::{Outbox, UnitOfWork};
use service::http::Problem;
use utoipa::OpenApi;

use crate::{Error, Result};
pub use representations::{MenuItem, MenuRevision, NewRestaurant, RestaurantView};

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

    /// Runs a writing use case in a unit of work on a pooled connection and commits it:
    /// the change and its event, or neither.
    async fn in_unit_of_work<T>(
        &self,
        use_case: impl for<'w, 'c> FnOnce(
            &'w mut UnitOfWork<'c>,
        )
            -> Pin<Box<dyn Future<Output = Result<T>> + Send + 'w>>,
    ) -> Result<T> {
        let mut client = self.connection().await?;
        let mut work = self.outbox.begin(&mut client).await?;
        let result = use_case(&mut work).await?;
        work.commit().await?;
        Ok(result)
    }
}

/// The service's OpenAPI document, generated from the handlers' annotations so it
/// cannot drift from the code.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "restaurant-service",
        description = "FTGO restaurants and their menus. Changes are also published on \
                       `restaurant.events` (RestaurantCreated, MenuRevised)."
    ),
    paths(
        restaurants::create_restaurant,
        restaurants::get_restaurant,
        restaurants::revise_menu
    ),
    components(schemas(MenuItem, Problem)),
    tags((name = "restaurants", description = "Restaurants and menus"))
)]
pub struct ApiDoc;

/// The API routes (state applied) plus `/openapi.json`.
pub fn router(pool: Pool, outbox: Outbox) -> Result<Router> {
    Ok(Router::new()
        .route("/v1/restaurants", post(restaurants::create_restaurant))
        .route("/v1/restaurants/{id}", get(restaurants::get_restaurant))
        .route("/v1/restaurants/{id}/menu", put(restaurants::revise_menu))
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
