//! `POST /v1/restaurants`, `GET /v1/restaurants/{id}`, `PUT /v1/restaurants/{id}/menu`.
//!
//! Writes append their event to the outbox in the same transaction as the change, so
//! order-service's menu replica sees every committed change and nothing else.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::contracts::restaurant::{
    EVENTS, MENU_REVISED, MenuRevised, RESTAURANT_CREATED, RestaurantCreated,
};
use platform::contracts::{self, MenuItem};
use platform::http::{Problem, ValidJson};
use platform::messaging::headers;
use platform::outbox::{self, OutboxMessage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use crate::domain::{Menu, Restaurant};
use crate::{Error, repository};
use platform::http::IdPath;

/// A restaurant to create, with its first menu.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRestaurant {
    /// Display name, 1 to 200 characters with one that is not blank and no control
    /// characters (surrounding blanks are trimmed).
    #[schema(schema_with = platform::http::text::name_schema, example = "Ajanta")]
    pub name: String,
    /// Whether it delivers; orders are rejected while it does not.
    #[serde(default = "delivers_by_default")]
    #[schema(default = true)]
    pub delivers: bool,
    /// The menu: at least one item, ids unique, prices in cents and not negative.
    #[schema(min_items = 1, max_items = 500)]
    pub menu: Vec<MenuItem>,
}

fn delivers_by_default() -> bool {
    true
}

/// A whole new menu for a restaurant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuRevision {
    /// The menu: at least one item, ids unique, prices in cents and not negative.
    #[schema(min_items = 1, max_items = 500)]
    pub menu: Vec<MenuItem>,
}

/// A restaurant with its menu.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RestaurantView {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Whether it delivers.
    pub delivers: bool,
    /// Its menu, in menu order.
    pub menu: Vec<MenuItem>,
}

impl From<Restaurant> for RestaurantView {
    fn from(r: Restaurant) -> Self {
        Self {
            id: r.id,
            name: r.name,
            delivers: r.delivers,
            menu: r.menu,
        }
    }
}

/// The caller's W3C trace context, carried onto the events the request causes.
fn traceparent(request: &HeaderMap) -> Option<&str> {
    request
        .get(headers::TRACEPARENT)
        .and_then(|v| v.to_str().ok())
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
    State(state): State<AppState>,
    request: HeaderMap,
    ValidJson(body): ValidJson<NewRestaurant>,
) -> Result<Response, Problem> {
    let restaurant = Restaurant::new(Uuid::now_v7(), &body.name, body.delivers, body.menu)?;
    let event = OutboxMessage::new(
        EVENTS,
        restaurant.id.to_string(),
        RESTAURANT_CREATED,
        contracts::VERSION,
        &RestaurantCreated {
            restaurant_id: restaurant.id,
            name: restaurant.name.clone(),
            delivers: restaurant.delivers,
            menu: restaurant.menu.clone(),
        },
    )
    .with_traceparent(traceparent(&request));
    let mut client = platform::db::connection(&state.pool)
        .await
        .map_err(Error::from)?;
    let transaction = client.transaction().await.map_err(Error::from)?;
    repository::insert(&transaction, &restaurant).await?;
    outbox::append(&transaction, &[event])
        .await
        .map_err(Error::from)?;
    transaction.commit().await.map_err(Error::from)?;
    tracing::info!(restaurant_id = %restaurant.id, items = restaurant.menu.len(), "restaurant created");
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
    State(state): State<AppState>,
    IdPath(id): IdPath,
) -> Result<Json<RestaurantView>, Problem> {
    let client = platform::db::connection(&state.pool)
        .await
        .map_err(Error::from)?;
    let restaurant = repository::find(&**client, id)
        .await?
        .ok_or(Error::not_found("restaurant", id))?;
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
    State(state): State<AppState>,
    IdPath(id): IdPath,
    request: HeaderMap,
    ValidJson(body): ValidJson<MenuRevision>,
) -> Result<Json<RestaurantView>, Problem> {
    let menu = Menu::new(body.menu)?;
    let mut client = platform::db::connection(&state.pool)
        .await
        .map_err(Error::from)?;
    let transaction = client.transaction().await.map_err(Error::from)?;
    let restaurant = repository::replace_menu(&transaction, id, &menu)
        .await?
        .ok_or(Error::not_found("restaurant", id))?;
    let event = OutboxMessage::new(
        EVENTS,
        id.to_string(),
        MENU_REVISED,
        contracts::VERSION,
        &MenuRevised {
            restaurant_id: id,
            menu: restaurant.menu.clone(),
        },
    )
    .with_traceparent(traceparent(&request));
    outbox::append(&transaction, &[event])
        .await
        .map_err(Error::from)?;
    transaction.commit().await.map_err(Error::from)?;
    tracing::info!(restaurant_id = %id, items = restaurant.menu.len(), "menu revised");
    Ok(Json(restaurant.into()))
}

#[cfg(test)]
mod tests {
    use platform::http::json::parse;

    use super::*;

    #[test]
    fn body_errors_name_the_field() {
        let p = parse::<NewRestaurant>(br#"{"name": "A"}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("menu"));
        let p = parse::<NewRestaurant>(
            br#"{"name": "A", "menu": [{"id": "a", "name": "b", "price_cents": 1},
                                       {"id": "c", "name": "d", "price_cents": "x"}]}"#,
        )
        .unwrap_err();
        assert_eq!(p.field.as_deref(), Some("menu[1].price_cents"));
        let p =
            parse::<NewRestaurant>(br#"{"name": "A", "delivers": "yes", "menu": []}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("delivers"));
        let body: NewRestaurant = parse(br#"{"name": "A", "menu": []}"#).unwrap();
        assert!(body.delivers, "delivers defaults to true");
    }
}
