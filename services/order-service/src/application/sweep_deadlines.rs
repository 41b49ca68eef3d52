//! Use case: reject the orders whose validation did not complete before their deadline,
//! so no order stays PENDING forever when a validating service is down for long; then
//! publish how many orders are PENDING and how old the oldest is.

use messaging::UnitOfWork;

use super::Application;
use super::record_validation::{self, Recorded};
use crate::domain::Validation;
use crate::{Result, repository};

/// Orders handled per sweep (one unit of work).
const BATCH: i64 = 100;

/// Rejects up to [`BATCH`] overdue orders in `work` (other instances skip the rows this
/// one locked); returns what each rejection recorded.
pub async fn reject_overdue(work: &mut UnitOfWork<'_>) -> Result<Vec<Recorded>> {
    let mut recorded = Vec::new();
    for mut order in repository::overdue_for_update(work.transaction(), BATCH).await? {
        recorded
            .push(record_validation::apply(work, &mut order, Validation::DeadlinePassed).await?);
        tracing::info!(order_id = %order.id, "rejected: validation deadline passed");
    }
    Ok(recorded)
}

impl Application {
    /// One sweep: rejects overdue orders, counts them once committed, and sets the
    /// database-wide pending figures.
    pub async fn sweep_deadlines(&self) -> Result<()> {
        let mut client = runtime::db::connection(&self.pool).await?;
        let mut work = self.outbox.begin(&mut client).await?;
        let rejected = reject_overdue(&mut work).await?;
        work.commit().await?;
        for (transition, age) in &rejected {
            self.count_transition(transition, *age);
        }
        let (pending, oldest_age) = repository::pending_summary(&client).await?;
        self.metrics.set_pending(pending, oldest_age);
        Ok(())
    }
}
