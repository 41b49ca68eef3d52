//! The restaurant replica, kept from `restaurant.events` (pattern: replicate data).

use platform::contracts::{self, restaurant};
use platform::messaging::{HandlingError, IncomingMessage, MessageHandler};
use platform::outbox;
use tokio_postgres::Transaction;

use crate::domain::price;
use crate::{messages, repository};

/// Applies restaurant events to `restaurant_replica`. Events of one restaurant share its
/// key, hence a partition, hence arrive in order.
#[derive(Debug, Default)]
pub struct RestaurantReplica;

impl MessageHandler for RestaurantReplica {
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool {
        schema_version == contracts::VERSION
            && [restaurant::RESTAURANT_CREATED, restaurant::MENU_REVISED].contains(&message_type)
    }

    async fn handle<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        message: &'a IncomingMessage,
    ) -> Result<(), HandlingError> {
        match message.message_type.as_str() {
            restaurant::RESTAURANT_CREATED => {
                let event: restaurant::RestaurantCreated = message.decode()?;
                repository::lock_restaurant(transaction, event.restaurant_id).await?;
                repository::upsert_restaurant(
                    transaction,
                    event.restaurant_id,
                    &event.name,
                    event.delivers,
                    &event.menu,
                )
                .await?;
                start_waiting_orders(transaction, &event).await?;
            }
            _ => {
                let event: restaurant::MenuRevised = message.decode()?;
                if !repository::revise_menu(transaction, event.restaurant_id, &event.menu).await? {
                    return Err(HandlingError::Poison(format!(
                        "menu revision for unknown restaurant {}",
                        event.restaurant_id
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Prices the orders accepted while the replica did not know the restaurant yet, and
/// starts their validation, in the transaction that records the restaurant.
async fn start_waiting_orders(
    transaction: &Transaction<'_>,
    event: &restaurant::RestaurantCreated,
) -> Result<(), HandlingError> {
    for mut order in
        repository::awaiting_restaurant_for_update(transaction, event.restaurant_id).await?
    {
        let total = price(Some(&event.menu), order.restaurant_id, &order.line_items)
            .map_err(|e| HandlingError::Poison(e.to_string()))?;
        order.total_cents = Some(total);
        repository::set_total(transaction, order.id, total).await?;
        outbox::append(transaction, &messages::order_accepted(&order, total, None)).await?;
        tracing::info!(
            order_id = %order.id,
            restaurant_id = %order.restaurant_id,
            total_cents = total,
            "priced an order that waited for its restaurant; validation started"
        );
    }
    Ok(())
}
