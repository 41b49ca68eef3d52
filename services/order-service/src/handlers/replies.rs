//! Replies from consumer-service and restaurant-service on `order-service.replies`.

use messaging::{HandlingError, IncomingMessage, MessageHandler, UnitOfWork};

use crate::application::Application;
use crate::messages;

/// Moves orders through validation as replies arrive. Instances of order-service share
/// its consumer group, so each reply is handled by one of them, once.
#[derive(Debug)]
pub struct ValidationReplies(pub Application);

impl MessageHandler for ValidationReplies {
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool {
        messages::is_validation_reply(message_type, schema_version)
    }

    async fn handle<'a, 'c>(
        &'a self,
        work: &'a mut UnitOfWork<'c>,
        message: &'a IncomingMessage,
    ) -> Result<(), HandlingError> {
        let reply = messages::validation_reply(message)?;
        let order_id = reply.order_id;
        let transition = self.0.record_validation(work, reply).await?;
        tracing::info!(%order_id, reply = %message.message_type, ?transition, "validation reply");
        Ok(())
    }
}
