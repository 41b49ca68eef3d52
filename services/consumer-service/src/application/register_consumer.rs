//! Register a consumer.

use messaging::UnitOfWork;
use uuid::Uuid;

use crate::domain::{Consumer, Registration};
use crate::{Result, repository};

/// Validates the registration (`name`, `order_limit_cents` as the client sent them) and
/// stores the consumer in `work`. It publishes nothing: no service subscribes to
/// consumers.
pub async fn register_consumer(
    work: &mut UnitOfWork<'_>,
    name: &str,
    order_limit_cents: Option<i64>,
) -> Result<Consumer> {
    let registration = Registration::new(name, order_limit_cents)?;
    let consumer = repository::insert(work.transaction(), Uuid::now_v7(), &registration).await?;
    tracing::info!(consumer_id = %consumer.id, "consumer registered");
    Ok(consumer)
}
