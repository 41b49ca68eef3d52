//! Use case: accept an order as PENDING and start its validation.
//!
//! Pattern "finish processing after returning a response": the order, `OrderCreated` and
//! both validation commands are written in one unit of work; the answer does not wait
//! for the validating services.
//!
//! The order is priced from the menu replica. A restaurant the replica does not know yet
//! (created a moment ago) is waited for up to `orders.replica_wait_ms`; past that the
//! order is accepted unpriced (`total_cents` none), priced and validated when the
//! replica learns the restaurant, and rejected at its deadline if it never does.
//! Availability over a synchronous check, and the client is never blamed for the
//! system's own replication lag.

use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use messaging::UnitOfWork;
use uuid::Uuid;

use super::Application;
use crate::domain::{LineItem, MenuItem, Order, price};
use crate::metrics::Outcome;
use crate::{Error, Result, messages, repository};

/// What a client orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// Who orders.
    pub consumer_id: Uuid,
    /// From which restaurant.
    pub restaurant_id: Uuid,
    /// What (validated by the caller: at least one line, quantities 1 to 1000).
    pub line_items: Vec<LineItem>,
}

/// The accepted order, and whether it was created by an earlier request with the same
/// Idempotency-Key (`replayed`) rather than by this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The order.
    pub order: Order,
    /// True when an earlier request with the same key created it.
    pub replayed: bool,
}

/// The order a request's key already created, if it asks for the same order; a key
/// reused for another order is the client's error.
fn replay(existing: Order, request: &NewOrder) -> Result<Placed> {
    let same = existing.consumer_id == request.consumer_id
        && existing.restaurant_id == request.restaurant_id
        && existing.line_items == request.line_items;
    if !same {
        return Err(Error::IdempotencyKeyReused);
    }
    Ok(Placed {
        order: existing,
        replayed: true,
    })
}

/// How often a new order looks for its restaurant in the replica while it waits.
const REPLICA_POLL: Duration = Duration::from_millis(20);

/// The replica's menu of `restaurant`, looked for until `wait` passes: a restaurant
/// created a moment ago arrives within it, so the client sees a priced order. Each look
/// takes a pooled connection for one query only, so waiting holds none.
async fn menu_within(
    pool: &Pool,
    restaurant: Uuid,
    wait: Duration,
) -> Result<Option<Vec<MenuItem>>> {
    let deadline = Instant::now() + wait;
    loop {
        let client = runtime::db::connection(pool).await?;
        if let Some(menu) = repository::menu(&client, restaurant).await? {
            return Ok(Some(menu));
        }
        drop(client);
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(REPLICA_POLL).await;
    }
}

/// Stores the new order in `work`, priced from `menu` (or, when the replica has none
/// yet, from the replica re-read under the restaurant's lock), and publishes what a
/// priced order publishes. `None` when `key` already names an order (a concurrent
/// request with the same key won): nothing was written.
pub async fn place(
    work: &mut UnitOfWork<'_>,
    request: &NewOrder,
    mut menu: Option<Vec<MenuItem>>,
    validation_deadline_ms: u64,
    key: Option<&str>,
    traceparent: Option<&str>,
) -> Result<Option<Order>> {
    if menu.is_none() {
        // Accepted to wait for the replica. The lock orders this against the replica
        // learning the restaurant meanwhile, and the re-read sees it if it did.
        repository::lock_restaurant(work.transaction(), request.restaurant_id).await?;
        menu = repository::menu(work.transaction(), request.restaurant_id).await?;
    }
    let total = menu.map(|menu| price(&menu, &request.line_items));
    let order = Order::create(
        request.consumer_id,
        request.restaurant_id,
        request.line_items.clone(),
        total,
    );
    if !repository::insert(work.transaction(), &order, validation_deadline_ms, key).await? {
        return Ok(None);
    }
    match total {
        Some(total) => messages::publish_order_accepted(work, &order, total, traceparent)?,
        None => tracing::info!(
            order_id = %order.id,
            restaurant_id = %order.restaurant_id,
            "order accepted unpriced; waiting for its restaurant to reach the replica"
        ),
    }
    Ok(Some(order))
}

impl Application {
    /// Places `request`, made safe to retry by the client's Idempotency-Key `key`: a key
    /// that already created the same order answers that order; counts a new order once
    /// committed.
    pub async fn create_order(
        &self,
        request: NewOrder,
        key: Option<&str>,
        traceparent: Option<&str>,
    ) -> Result<Placed> {
        if let Some(key) = key {
            let client = runtime::db::connection(&self.pool).await?;
            if let Some(existing) = repository::find_by_idempotency_key(&client, key).await? {
                return replay(existing, &request);
            }
        }
        let menu = menu_within(&self.pool, request.restaurant_id, self.replica_wait).await?;
        let mut client = runtime::db::connection(&self.pool).await?;
        let mut work = self.outbox.begin(&mut client).await?;
        let deadline = self.validation_deadline_ms;
        let Some(order) = place(&mut work, &request, menu, deadline, key, traceparent).await?
        else {
            // A concurrent request with the same key created its order first.
            work.rollback().await?;
            let existing = match key {
                Some(key) => repository::find_by_idempotency_key(&client, key).await?,
                None => None,
            };
            return replay(existing.ok_or(Error::IdempotencyKeyTaken)?, &request);
        };
        work.commit().await?;
        self.metrics.count(Outcome::Created);
        tracing::info!(order_id = %order.id, total_cents = ?order.total_cents, "order accepted");
        Ok(Placed {
            order,
            replayed: false,
        })
    }
}
