//! `POST /v1/restaurants`, `GET /v1/restaurants/{id}`, `PUT /v1/restaurants/{id}/menu`:
//! translate the request into a use case ([`crate::application`]), run it in a unit of
//! work that commits the change with its event, and translate the result back.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use outbox::headers::TRACEPARENT;
use service::http::{IdPath, Problem, ValidJson};

use super::representations::{MenuRevision, NewRestaurant, RestaurantView, domain_menu};
use crate::application::{self, CreateRestaurant, ReviseMenu};
use service::Store;

/// The caller's W3C trace context, carried onto the events the request causes.
fn traceparent(request: &HeaderMap) -> Option<String> {
    request
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Creates a restaurant and publishes `RestaurantCreated`.
#[utoipa::path(
    post,
    path = "/v1/restaurants",
    tag = "restaurants",
    request_body = NewRestaurant,
    responses(
        (status = 201, description = "Created", body = RestaurantView,
            headers(("Location" = String, description = "URL of the new restaurant"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid; `field` names it, e.g. `menu[1].price_cents`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_restaurant(
    State(state): State<Store>,
    request: HeaderMap,
    ValidJson(body): ValidJson<NewRestaurant>,
) -> Result<Response, Problem> {
    let command = CreateRestaurant {
        name: body.name,
        delivers: body.delivers,
        menu: domain_menu(body.menu),
        traceparent: traceparent(&request),
    };
    let restaurant = state
        .in_unit_of_work(|work| Box::pin(application::create_restaurant(work, command)))
        .await?;
    let location = format!("/v1/restaurants/{}", restaurant.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(RestaurantView::from(restaurant)),
    )
        .into_response())
}

/// Reads a restaurant and its menu.
#[utoipa::path(
    get,
    path = "/v1/restaurants/{id}",
    tag = "restaurants",
    params(("id" = Uuid, Path, description = "The restaurant's id")),
    responses(
        (status = 200, description = "The restaurant", body = RestaurantView),
        (status = 400, description = "`id` is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such restaurant", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_restaurant(
    State(state): State<Store>,
    IdPath(id): IdPath,
) -> Result<Json<RestaurantView>, Problem> {
    let client = state.connection().await?;
    let restaurant = application::get_restaurant(&client, id).await?;
    Ok(Json(restaurant.into()))
}

/// Replaces a restaurant's menu and publishes `MenuRevised` with the whole new menu.
#[utoipa::path(
    put,
    path = "/v1/restaurants/{id}/menu",
    tag = "restaurants",
    params(("id" = Uuid, Path, description = "The restaurant's id")),
    request_body = MenuRevision,
    responses(
        (status = 200, description = "The restaurant with its new menu", body = RestaurantView),
        (status = 400, description = "Malformed JSON, or `id` is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such restaurant", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revise_menu(
    State(state): State<Store>,
    IdPath(id): IdPath,
    request: HeaderMap,
    ValidJson(body): ValidJson<MenuRevision>,
) -> Result<Json<RestaurantView>, Problem> {
    let command = ReviseMenu {
        restaurant_id: id,
        menu: domain_menu(body.menu),
        traceparent: traceparent(&request),
    };
    let restaurant = state
        .in_unit_of_work(|work| Box::pin(application::revise_menu(work, command)))
        .await?;
    Ok(Json(restaurant.into()))
}
