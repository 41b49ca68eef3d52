//! Use case: keep the replica of restaurant menus (pattern: replicate data), and price
//! and start validating the orders that waited for a restaurant to reach it.

use messaging::UnitOfWork;
use uuid::Uuid;

use crate::domain::{MenuItem, Restaurant, price};
use crate::{Error, Result, messages, repository};

/// A change to a restaurant the replica follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestaurantChange {
    /// A new restaurant, with its menu.
    Created(Restaurant),
    /// A restaurant's new menu.
    MenuRevised {
        /// The restaurant.
        restaurant_id: Uuid,
        /// Its whole new menu.
        menu: Vec<MenuItem>,
    },
}

/// Applies `change` to the replica in `work`. A revision for a restaurant the replica
/// does not know is [`Error::UnknownRestaurant`]: events of one restaurant arrive in
/// order, so its creation was lost.
pub async fn apply(work: &mut UnitOfWork<'_>, change: RestaurantChange) -> Result<()> {
    match change {
        RestaurantChange::Created(restaurant) => {
            repository::lock_restaurant(work.transaction(), restaurant.id).await?;
            repository::upsert_restaurant(work.transaction(), &restaurant).await?;
            start_waiting_orders(work, &restaurant).await
        }
        RestaurantChange::MenuRevised {
            restaurant_id,
            menu,
        } => {
            if repository::revise_menu(work.transaction(), restaurant_id, &menu).await? {
                Ok(())
            } else {
                Err(Error::UnknownRestaurant(restaurant_id))
            }
        }
    }
}

/// Prices the orders accepted while the replica did not know `restaurant` yet, and
/// starts their validation, in the unit of work that records the restaurant.
async fn start_waiting_orders(work: &mut UnitOfWork<'_>, restaurant: &Restaurant) -> Result<()> {
    for mut order in
        repository::awaiting_restaurant_for_update(work.transaction(), restaurant.id).await?
    {
        let total = price(&restaurant.menu, &order.line_items);
        order.total_cents = Some(total);
        repository::set_total(work.transaction(), order.id, total).await?;
        messages::publish_order_accepted(work, &order, total, None)?;
        tracing::info!(
            order_id = %order.id,
            restaurant_id = %order.restaurant_id,
            total_cents = total,
            "priced an order that waited for its restaurant; validation started"
        );
    }
    Ok(())
}
