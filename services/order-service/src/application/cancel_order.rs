//! Use case: the consumer cancels an order that is PENDING or VALIDATED;
//! `OrderCancelled` is published (a one-way notification other services may act on).

use messaging::UnitOfWork;
use uuid::Uuid;

use super::Application;
use crate::domain::Order;
use crate::messages::{self, StateChange};
use crate::metrics::Outcome;
use crate::{Error, Result, repository};

/// Cancels order `id` in `work`.
pub async fn cancel(work: &mut UnitOfWork<'_>, id: Uuid) -> Result<Order> {
    let mut order = repository::find_for_update(work.transaction(), id)
        .await?
        .ok_or(Error::OrderNotFound(id))?;
    order.cancel()?;
    repository::save(work.transaction(), &order).await?;
    messages::publish_state_changed(work, &order, StateChange::Cancelled, None)?;
    Ok(order)
}

impl Application {
    /// Cancels order `id`; counts it once committed.
    pub async fn cancel_order(&self, id: Uuid) -> Result<Order> {
        let mut client = runtime::db::connection(&self.pool).await?;
        let mut work = self.outbox.begin(&mut client).await?;
        let order = cancel(&mut work, id).await?;
        work.commit().await?;
        self.metrics.count(Outcome::Cancelled);
        Ok(order)
    }
}
