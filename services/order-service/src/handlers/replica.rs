//! The restaurant replica, kept from `restaurant.events` (pattern: replicate data).

use messaging::{HandlingError, IncomingMessage, MessageHandler, UnitOfWork};

use crate::application::replicate_restaurant;
use crate::messages;

/// Applies restaurant events to the replica. Events of one restaurant share its key,
/// hence a partition, hence arrive in order.
#[derive(Debug, Default)]
pub struct RestaurantReplica;

impl MessageHandler for RestaurantReplica {
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool {
        messages::is_restaurant_change(message_type, schema_version)
    }

    async fn handle<'a, 'c>(
        &'a self,
        work: &'a mut UnitOfWork<'c>,
        message: &'a IncomingMessage,
    ) -> Result<(), HandlingError> {
        let change = messages::restaurant_change(message)?;
        Ok(replicate_restaurant::apply(work, change).await?)
    }
}
