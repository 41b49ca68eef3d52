//! Replies from consumer-service and restaurant-service on `order-service.replies`.

use platform::contracts::{self, consumer, restaurant};
use platform::messaging::{HandlingError, IncomingMessage, MessageHandler};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::record_validation;
use crate::domain::Validation;
use crate::metrics::OrderMetrics;
use crate::repository;

/// Moves orders through validation as replies arrive. Instances of order-service share
/// its consumer group, so each reply is handled by one of them, once.
#[derive(Debug)]
pub struct ValidationReplies {
    metrics: OrderMetrics,
}

impl ValidationReplies {
    /// The handler, counting outcomes in `metrics`.
    pub fn new(metrics: OrderMetrics) -> Self {
        Self { metrics }
    }
}

impl ValidationReplies {
    fn decode(message: &IncomingMessage) -> Result<(Uuid, Validation), HandlingError> {
        let reason = |r: Option<String>| r.unwrap_or_else(|| "no reason given".to_owned());
        Ok(match message.message_type.as_str() {
            consumer::CONSUMER_VALIDATED => {
                let reply: consumer::ConsumerValidation = message.decode()?;
                (reply.order_id, Validation::ConsumerValidated)
            }
            consumer::CONSUMER_REJECTED => {
                let reply: consumer::ConsumerValidation = message.decode()?;
                (
                    reply.order_id,
                    Validation::ConsumerRejected(reason(reply.reason)),
                )
            }
            restaurant::ORDER_DETAILS_VALIDATED => {
                let reply: restaurant::OrderDetailsValidation = message.decode()?;
                (reply.order_id, Validation::DetailsValidated)
            }
            restaurant::ORDER_DETAILS_REJECTED => {
                let reply: restaurant::OrderDetailsValidation = message.decode()?;
                (
                    reply.order_id,
                    Validation::DetailsRejected(reason(reply.reason)),
                )
            }
            other => return Err(HandlingError::Poison(format!("unexpected reply {other}"))),
        })
    }
}

impl MessageHandler for ValidationReplies {
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool {
        schema_version == contracts::VERSION
            && [
                consumer::CONSUMER_VALIDATED,
                consumer::CONSUMER_REJECTED,
                restaurant::ORDER_DETAILS_VALIDATED,
                restaurant::ORDER_DETAILS_REJECTED,
            ]
            .contains(&message_type)
    }

    async fn handle<'a>(
        &'a self,
        transaction: &'a Transaction<'a>,
        message: &'a IncomingMessage,
    ) -> Result<(), HandlingError> {
        let (order_id, validation) = Self::decode(message)?;
        let Some(mut order) = repository::find_for_update(transaction, order_id).await? else {
            return Err(HandlingError::Poison(format!(
                "reply for unknown order {order_id}"
            )));
        };
        let transition =
            record_validation(transaction, &mut order, validation, &self.metrics).await?;
        tracing::info!(%order_id, reply = %message.message_type, ?transition, "validation reply");
        Ok(())
    }
}
