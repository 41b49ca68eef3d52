//! The restaurant replica, kept from `restaurant.events` (pattern: replicate data).

use platform::contracts::{self, restaurant};
use platform::messaging::{HandlingError, IncomingMessage, MessageHandler};
use tokio_postgres::Transaction;

use crate::repository;

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
                repository::upsert_restaurant(
                    transaction,
                    event.restaurant_id,
                    &event.name,
                    event.delivers,
                    &event.menu,
                )
                .await?;
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
