//! The application layer: order-service's use cases, one module each.
//!
//! Each use case does its domain work in a [`messaging::UnitOfWork`]: reads and writes
//! through its transaction, publishes through it (the outbox, via [`crate::messages`]).
//! HTTP requests and the deadline sweeper reach the use cases through [`Application`],
//! which begins the unit of work, commits it and then counts the outcome; message
//! handlers pass the unit of work the consumer loop opened (and commits). Counting the
//! order metrics happens here and nowhere else.

pub mod cancel_order;
pub mod create_order;
pub mod record_validation;
pub mod replicate_restaurant;
pub mod sweep_deadlines;

use std::time::Duration;

use deadpool_postgres::Pool;
use messaging::Outbox;
use uuid::Uuid;

use crate::domain::{Order, Transition};
use crate::metrics::{OrderMetrics, Outcome};
use crate::{Error, Result, repository};

/// order-service's use cases with what they share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Application {
    pool: Pool,
    outbox: Outbox,
    metrics: OrderMetrics,
    validation_deadline_ms: u64,
    replica_wait: Duration,
}

impl Application {
    /// The use cases on `pool`, publishing through `outbox`, counting in `metrics`; new
    /// orders must be validated within `validation_deadline_ms` and wait up to
    /// `replica_wait` for their restaurant to reach the replica.
    pub fn new(
        pool: Pool,
        outbox: Outbox,
        metrics: OrderMetrics,
        validation_deadline_ms: u64,
        replica_wait: Duration,
    ) -> Self {
        Self {
            pool,
            outbox,
            metrics,
            validation_deadline_ms,
            replica_wait,
        }
    }

    /// The order `id`.
    pub async fn find_order(&self, id: Uuid) -> Result<Order> {
        let client = runtime::db::connection(&self.pool).await?;
        repository::find(&client, id)
            .await?
            .ok_or(Error::OrderNotFound(id))
    }

    /// Counts an order that left PENDING `age_seconds` after its creation, if it did.
    fn count_transition(&self, transition: &Transition, age_seconds: f64) {
        match transition {
            Transition::None => {}
            Transition::Validated => self.metrics.left_pending(Outcome::Validated, age_seconds),
            Transition::Rejected(_) => self.metrics.left_pending(Outcome::Rejected, age_seconds),
        }
    }
}
