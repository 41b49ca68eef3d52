//! The REST API under `/v1`, and its OpenAPI 3.1 document at `/openapi.json`.
//!
//! Every error is `application/problem+json`: body errors name the field
//! (`menu[1].price_cents`), a malformed id names `id` ([`service::http::IdPath`]),
//! database outages are 503, and a restaurant stored corrupt is a 500 naming it.

mod representations;
pub mod restaurants;

use axum::Router;
use axum::routing::{get, post, put};
use service::Store;
use service::http::Problem;
use utoipa::OpenApi;

use crate::{Error, Result};
pub use representations::{MenuItem, MenuRevision, NewRestaurant, RestaurantView};

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
pub fn router(store: Store) -> Result<Router> {
    let routes = Router::new()
        .route("/v1/restaurants", post(restaurants::create_restaurant))
        .route("/v1/restaurants/{id}", get(restaurants::get_restaurant))
        .route("/v1/restaurants/{id}/menu", put(restaurants::revise_menu));
    service::http::api_router(routes, store, &ApiDoc::openapi()).map_err(Error::from)
}
