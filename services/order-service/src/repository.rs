//! Every SQL statement of order-service: the domain never sees SQL.

use platform::contracts::MenuItem;
use tokio_postgres::{GenericClient, Row};
use uuid::Uuid;

use crate::domain::{Order, OrderState};

const ORDER_COLUMNS: &str = "id, consumer_id, restaurant_id, line_items, total_cents, state, \
     consumer_validated, restaurant_validated, rejection_reason";

fn order_from(row: &Row) -> Result<Order, tokio_postgres::Error> {
    let line_items: serde_json::Value = row.try_get(3)?;
    let state: String = row.try_get(5)?;
    Ok(Order {
        id: row.try_get(0)?,
        consumer_id: row.try_get(1)?,
        restaurant_id: row.try_get(2)?,
        line_items: serde_json::from_value(line_items).unwrap_or_default(),
        total_cents: row.try_get(4)?,
        // The CHECK constraint admits only known states.
        state: OrderState::parse(&state).unwrap_or(OrderState::Rejected),
        consumer_validated: row.try_get(6)?,
        restaurant_validated: row.try_get(7)?,
        rejection_reason: row.try_get(8)?,
    })
}

/// Inserts a new order whose validation must finish within `deadline_ms`. Returns false,
/// inserting nothing, when `idempotency_key` already names an order (a concurrent insert
/// with the same key waits for the first to end, then conflicts).
pub async fn insert(
    client: &impl GenericClient,
    order: &Order,
    deadline_ms: u64,
    idempotency_key: Option<&str>,
) -> Result<bool, tokio_postgres::Error> {
    let line_items = serde_json::to_value(&order.line_items).unwrap_or_default();
    let deadline_ms = i64::try_from(deadline_ms).unwrap_or(i64::MAX);
    let inserted = client
        .execute(
            "INSERT INTO orders (id, consumer_id, restaurant_id, line_items, total_cents, state,
                                 validation_deadline, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::bigint / 1000.0),
                     $8)
             ON CONFLICT (idempotency_key) DO NOTHING",
            &[
                &order.id,
                &order.consumer_id,
                &order.restaurant_id,
                &line_items,
                &order.total_cents,
                &order.state.as_str(),
                &deadline_ms,
                &idempotency_key,
            ],
        )
        .await?;
    Ok(inserted == 1)
}

/// The order created with `idempotency_key`, if any.
pub async fn find_by_idempotency_key(
    client: &impl GenericClient,
    idempotency_key: &str,
) -> Result<Option<Order>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE idempotency_key = $1"),
            &[&idempotency_key],
        )
        .await?;
    row.as_ref().map(order_from).transpose()
}

/// The order, if it exists.
pub async fn find(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<Order>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"),
            &[&id],
        )
        .await?;
    row.as_ref().map(order_from).transpose()
}

/// The order, locked until the transaction ends (replies for one order are serialised).
pub async fn find_for_update(
    client: &impl GenericClient,
    id: Uuid,
) -> Result<Option<Order>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE"),
            &[&id],
        )
        .await?;
    row.as_ref().map(order_from).transpose()
}

/// Pending orders past their deadline, locked; other instances skip them.
pub async fn overdue_for_update(
    client: &impl GenericClient,
    limit: i64,
) -> Result<Vec<Order>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!(
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE state = 'PENDING' AND validation_deadline < now()
                 ORDER BY validation_deadline LIMIT $1 FOR UPDATE SKIP LOCKED"
            ),
            &[&limit],
        )
        .await?;
    rows.iter().map(order_from).collect()
}

/// Stores the order's state and validation progress; returns the order's age in seconds
/// (for the time-to-validation histogram).
pub async fn save(
    client: &impl GenericClient,
    order: &Order,
) -> Result<f64, tokio_postgres::Error> {
    let row = client
        .query_one(
            "UPDATE orders SET state = $2, consumer_validated = $3, restaurant_validated = $4,
                               rejection_reason = $5, updated_at = now()
             WHERE id = $1
             RETURNING EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8",
            &[
                &order.id,
                &order.state.as_str(),
                &order.consumer_validated,
                &order.restaurant_validated,
                &order.rejection_reason,
            ],
        )
        .await?;
    row.try_get(0)
}

/// How many orders are PENDING, and the age in seconds of the oldest (0 when none).
/// Reads only pending rows (the partial index `orders_pending_deadline`).
pub async fn pending_summary(
    client: &impl GenericClient,
) -> Result<(i64, f64), tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT count(*),
                    COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8
             FROM orders WHERE state = 'PENDING'",
            &[],
        )
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Serialises, per restaurant, accepting an order that waits for it against the replica
/// learning it: an order inserted unpriced is then either seen by the replica's handler
/// (which prices it) or finds the restaurant known after taking the lock. Held until the
/// transaction ends.
pub async fn lock_restaurant(
    client: &impl GenericClient,
    restaurant_id: Uuid,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))",
            &[&restaurant_id.to_string()],
        )
        .await?;
    Ok(())
}

/// Pending orders waiting for `restaurant_id` to reach the replica, locked.
pub async fn awaiting_restaurant_for_update(
    client: &impl GenericClient,
    restaurant_id: Uuid,
) -> Result<Vec<Order>, tokio_postgres::Error> {
    let rows = client
        .query(
            &format!(
                "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE restaurant_id = $1 AND total_cents IS NULL AND state = 'PENDING'
                 ORDER BY created_at FOR UPDATE"
            ),
            &[&restaurant_id],
        )
        .await?;
    rows.iter().map(order_from).collect()
}

/// Stores the total of an order that waited for its restaurant.
pub async fn set_total(
    client: &impl GenericClient,
    order_id: Uuid,
    total_cents: i64,
) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "UPDATE orders SET total_cents = $2, updated_at = now() WHERE id = $1",
            &[&order_id, &total_cents],
        )
        .await?;
    Ok(())
}

/// The replica's menu of a restaurant.
pub async fn menu(
    client: &impl GenericClient,
    restaurant_id: Uuid,
) -> Result<Option<Vec<MenuItem>>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT menu FROM restaurant_replica WHERE restaurant_id = $1",
            &[&restaurant_id],
        )
        .await?;
    Ok(row.map(|r| serde_json::from_value(r.get(0)).unwrap_or_default()))
}

/// Stores (or replaces) a restaurant in the replica.
pub async fn upsert_restaurant(
    client: &impl GenericClient,
    restaurant_id: Uuid,
    name: &str,
    delivers: bool,
    menu: &[MenuItem],
) -> Result<(), tokio_postgres::Error> {
    let menu = serde_json::to_value(menu).unwrap_or_default();
    client
        .execute(
            "INSERT INTO restaurant_replica (restaurant_id, name, delivers, menu)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (restaurant_id) DO UPDATE
             SET name = excluded.name, delivers = excluded.delivers, menu = excluded.menu,
                 updated_at = now()",
            &[&restaurant_id, &name, &delivers, &menu],
        )
        .await?;
    Ok(())
}

/// Replaces a restaurant's menu in the replica; `false` if the restaurant is unknown.
pub async fn revise_menu(
    client: &impl GenericClient,
    restaurant_id: Uuid,
    menu: &[MenuItem],
) -> Result<bool, tokio_postgres::Error> {
    let menu = serde_json::to_value(menu).unwrap_or_default();
    let updated = client
        .execute(
            "UPDATE restaurant_replica SET menu = $2, updated_at = now() WHERE restaurant_id = $1",
            &[&restaurant_id, &menu],
        )
        .await?;
    Ok(updated == 1)
}
