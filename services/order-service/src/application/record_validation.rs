//! Use case: record an answer of consumer-service or restaurant-service (or the lack of
//! one by the deadline): the order moves on, and `OrderValidated` / `OrderRejected` is
//! published when it leaves PENDING.

use messaging::UnitOfWork;
use uuid::Uuid;

use super::Application;
use crate::domain::{Order, Transition, Validation};
use crate::messages::{self, StateChange};
use crate::{Error, Result, repository};

/// A validation reply, as the use case takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReply {
    /// The order it answers for (the command's correlation).
    pub order_id: Uuid,
    /// The answer.
    pub validation: Validation,
}

/// What recording an answer did: the transition, and the order's age in seconds when
/// it was stored (for the time-to-validation histogram).
pub type Recorded = (Transition, f64);

/// Applies `validation` to `order` in `work`: stores its new state and publishes the
/// event of a transition, atomically.
pub async fn apply(
    work: &mut UnitOfWork<'_>,
    order: &mut Order,
    validation: Validation,
) -> Result<Recorded> {
    let transition = order.apply(validation);
    let age = repository::save(work.transaction(), order).await?;
    match &transition {
        Transition::None => {}
        Transition::Validated => {
            messages::publish_state_changed(work, order, StateChange::Validated, None)?;
        }
        Transition::Rejected(reason) => {
            let reason = Some(reason.clone());
            messages::publish_state_changed(work, order, StateChange::Rejected, reason)?;
        }
    }
    Ok((transition, age))
}

impl Application {
    /// Records `reply` in the consumer loop's unit of work `work` (which holds the
    /// order's row lock until it commits, so replies for one order are serialised).
    ///
    /// The outcome is counted here, before the loop commits: a commit that then fails
    /// (rare: the row is already locked) is retried and may count the order twice.
    pub async fn record_validation(
        &self,
        work: &mut UnitOfWork<'_>,
        reply: ValidationReply,
    ) -> Result<Transition> {
        let mut order = repository::find_for_update(work.transaction(), reply.order_id)
            .await?
            .ok_or(Error::OrderNotFound(reply.order_id))?;
        let (transition, age) = apply(work, &mut order, reply.validation).await?;
        self.count_transition(&transition, age);
        Ok(transition)
    }
}
