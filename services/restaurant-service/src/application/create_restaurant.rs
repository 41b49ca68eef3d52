//! Create a restaurant with its first menu; publishes `RestaurantCreated`.

use contracts::restaurant::RESTAURANT_CREATED;
use messaging::UnitOfWork;
use uuid::Uuid;

use super::publish_event;
use crate::domain::{MenuItem, Restaurant};
use crate::{Result, contract, repository};

/// A restaurant to create, as the domain takes it (not yet validated).
#[derive(Debug, Clone)]
pub struct CreateRestaurant {
    /// Display name.
    pub name: String,
    /// Whether it delivers.
    pub delivers: bool,
    /// Its first menu.
    pub menu: Vec<MenuItem>,
    /// The W3C trace context of the request, carried onto the event.
    pub traceparent: Option<String>,
}

/// Validates the restaurant, stores it and publishes `RestaurantCreated` in `work`.
pub async fn create_restaurant(
    work: &mut UnitOfWork<'_>,
    command: CreateRestaurant,
) -> Result<Restaurant> {
    let restaurant = Restaurant::new(
        Uuid::now_v7(),
        &command.name,
        command.delivers,
        command.menu,
    )?;
    repository::insert(work.transaction(), &restaurant).await?;
    publish_event(
        work,
        restaurant.id,
        RESTAURANT_CREATED,
        &contract::restaurant_created(&restaurant),
        command.traceparent.as_deref(),
    )?;
    tracing::info!(restaurant_id = %restaurant.id, items = restaurant.menu.items().len(), "restaurant created");
    Ok(restaurant)
}
