//! Every SQL statement of order-service: the domain never sees SQL.

//!
//! Rows are read strictly: a stored value that does not parse is [`Error::Corrupt`],
//! naming the column and the row, never replaced by a default.

use deadpool_postgres::GenericClient;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::domain::{LineItem, MenuItem, Order, OrderState, Restaurant};
use crate::{Error, Result};

const ORDER_COLUMNS: &str = "id, consumer_id, restaurant_id, line_items, total_cents, state, \
     consumer_validated, restaurant_validated, rejection_reason";

/// A `jsonb` value of row `id` read as `T`; `what` names the column in the error.
fn from_json<T: DeserializeOwned>(
    value: serde_json::Value,
    what: &'static str,
    id: Uuid,
) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::Corrupt {
        what,
        id,
        reason: e.to_string(),
    })
}

/// `value` as the `jsonb` of column `what`.
fn to_json(value: &impl Serialize, what: &'static str) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|source| Error::Store { what, source })
}

fn order_from(row: &Row) -> Result<Order> {
    let id: Uuid = row.try_get(0)?;
    let state: String = row.try_get(5)?;
    Ok(Order {
        id,
        consumer_id: row.try_get(1)?,
        restaurant_id: row.try_get(2)?,
        line_items: order_lines(row.try_get(3)?, id)?,
        total_cents: row.try_get(4)?,
        state: order_state(&state, id)?,
        consumer_validated: row.try_get(6)?,
        restaurant_validated: row.try_get(7)?,
        rejection_reason: row.try_get(8)?,
    })
}

/// Column `orders.line_items` of order `id`.
fn order_lines(value: serde_json::Value, id: Uuid) -> Result<Vec<LineItem>> {
    from_json(value, "orders.line_items", id)
}

/// Column `orders.state` of order `id`. The CHECK constraint admits only known states,
/// but a migration or a hand-made repair may change that; a state read wrong would act
/// on the order wrongly (a guessed REJECTED publishes nothing and refuses a cancel).
fn order_state(state: &str, id: Uuid) -> Result<OrderState> {
    OrderState::parse(state).ok_or_else(|| Error::Corrupt {
        what: "orders.state",
        id,
        reason: format!("unknown state {state:?}"),
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
) -> Result<bool> {
    let line_items = to_json(&order.line_items, "orders.line_items")?;
    let deadline_ms = i64::try_from(deadline_ms).unwrap_or(i64::MAX);
    let inserted = client
        .execute(
            &client.prepare_cached("INSERT INTO orders (id, consumer_id, restaurant_id, line_items, total_cents, state,
                                 validation_deadline, idempotency_key)
             VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7::bigint / 1000.0),
                     $8)
             ON CONFLICT (idempotency_key) DO NOTHING").await?,
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
) -> Result<Option<Order>> {
    let row = client
        .query_opt(
            &client
                .prepare_cached(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE idempotency_key = $1"
                ))
                .await?,
            &[&idempotency_key],
        )
        .await?;
    row.as_ref().map(order_from).transpose()
}

/// The order, if it exists.
pub async fn find(client: &impl GenericClient, id: Uuid) -> Result<Option<Order>> {
    let row = client
        .query_opt(
            &client
                .prepare_cached(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
                .await?,
            &[&id],
        )
        .await?;
    row.as_ref().map(order_from).transpose()
}

/// The order, locked until the transaction ends (replies for one order are serialised).
pub async fn find_for_update(client: &impl GenericClient, id: Uuid) -> Result<Option<Order>> {
    let row = client
        .query_opt(
            &client
                .prepare_cached(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 FOR UPDATE"
                ))
                .await?,
            &[&id],
        )
        .await?;
    row.as_ref().map(order_from).transpose()
}

/// Pending orders past their deadline, locked; other instances skip them.
pub async fn overdue_for_update(client: &impl GenericClient, limit: i64) -> Result<Vec<Order>> {
    let rows = client
        .query(
            &client
                .prepare_cached(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE state = 'PENDING' AND validation_deadline < now()
                 ORDER BY validation_deadline LIMIT $1 FOR UPDATE SKIP LOCKED"
                ))
                .await?,
            &[&limit],
        )
        .await?;
    rows.iter().map(order_from).collect()
}

/// Stores the order's state and validation progress; returns the order's age in seconds
/// (for the time-to-validation histogram).
pub async fn save(client: &impl GenericClient, order: &Order) -> Result<f64> {
    let row = client
        .query_one(
            &client.prepare_cached("UPDATE orders SET state = $2, consumer_validated = $3, restaurant_validated = $4,
                               rejection_reason = $5, updated_at = now()
             WHERE id = $1
             RETURNING EXTRACT(EPOCH FROM clock_timestamp() - created_at)::float8").await?,
            &[
                &order.id,
                &order.state.as_str(),
                &order.consumer_validated,
                &order.restaurant_validated,
                &order.rejection_reason,
            ],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// How many orders are PENDING, and the age in seconds of the oldest (0 when none).
/// Reads only pending rows (the partial index `orders_pending_deadline`).
pub async fn pending_summary(client: &impl GenericClient) -> Result<(i64, f64)> {
    let row = client
        .query_one(
            &client
                .prepare_cached(
                    "SELECT count(*),
                    COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - min(created_at)), 0)::float8
             FROM orders WHERE state = 'PENDING'",
                )
                .await?,
            &[],
        )
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Serialises, per restaurant, accepting an order that waits for it against the replica
/// learning it: an order inserted unpriced is then either seen by the replica's handler
/// (which prices it) or finds the restaurant known after taking the lock. Held until the
/// transaction ends.
pub async fn lock_restaurant(client: &impl GenericClient, restaurant_id: Uuid) -> Result<()> {
    client
        .execute(
            &client
                .prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))")
                .await?,
            &[&restaurant_id.to_string()],
        )
        .await?;
    Ok(())
}

/// Pending orders waiting for `restaurant_id` to reach the replica, locked.
pub async fn awaiting_restaurant_for_update(
    client: &impl GenericClient,
    restaurant_id: Uuid,
) -> Result<Vec<Order>> {
    let rows = client
        .query(
            &client
                .prepare_cached(&format!(
                    "SELECT {ORDER_COLUMNS} FROM orders
                 WHERE restaurant_id = $1 AND total_cents IS NULL AND state = 'PENDING'
                 ORDER BY created_at FOR UPDATE"
                ))
                .await?,
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
) -> Result<()> {
    client
        .execute(
            &client
                .prepare_cached(
                    "UPDATE orders SET total_cents = $2, updated_at = now() WHERE id = $1",
                )
                .await?,
            &[&order_id, &total_cents],
        )
        .await?;
    Ok(())
}

/// The replica's menu of a restaurant.
pub async fn menu(
    client: &impl GenericClient,
    restaurant_id: Uuid,
) -> Result<Option<Vec<MenuItem>>> {
    let row = client
        .query_opt(
            &client
                .prepare_cached("SELECT menu FROM restaurant_replica WHERE restaurant_id = $1")
                .await?,
            &[&restaurant_id],
        )
        .await?;
    row.map(|r| from_json(r.try_get(0)?, "restaurant_replica.menu", restaurant_id))
        .transpose()
}

/// Stores (or replaces) a restaurant in the replica.
pub async fn upsert_restaurant(client: &impl GenericClient, restaurant: &Restaurant) -> Result<()> {
    let menu = to_json(&restaurant.menu, "restaurant_replica.menu")?;
    client
        .execute(
            &client
                .prepare_cached(
                    "INSERT INTO restaurant_replica (restaurant_id, name, delivers, menu)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (restaurant_id) DO UPDATE
             SET name = excluded.name, delivers = excluded.delivers, menu = excluded.menu,
                 updated_at = now()",
                )
                .await?,
            &[
                &restaurant.id,
                &restaurant.name,
                &restaurant.delivers,
                &menu,
            ],
        )
        .await?;
    Ok(())
}

/// Replaces a restaurant's menu in the replica; `false` if the restaurant is unknown.
pub async fn revise_menu(
    client: &impl GenericClient,
    restaurant_id: Uuid,
    menu: &[MenuItem],
) -> Result<bool> {
    let menu = to_json(&menu, "restaurant_replica.menu")?;
    let updated = client
        .execute(
            &client.prepare_cached("UPDATE restaurant_replica SET menu = $2, updated_at = now() WHERE restaurant_id = $1").await?,
            &[&restaurant_id, &menu],
        )
        .await?;
    Ok(updated == 1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn corrupt_column(error: Error) -> &'static str {
        match error {
            Error::Corrupt { what, .. } => what,
            other => panic!("not Corrupt: {other}"),
        }
    }

    #[test]
    fn line_items_that_are_not_line_items_are_corrupt_not_empty() {
        let id = Uuid::now_v7();
        for value in [json!({"a": 1}), json!([{"dish": 1}]), json!("x")] {
            let error = order_lines(value, id).unwrap_err();
            assert_eq!(corrupt_column(error), "orders.line_items");
        }
        let lines = json!([{"menu_item_id": "a", "quantity": 2}]);
        assert_eq!(order_lines(lines, id).unwrap().len(), 1);
    }

    #[test]
    fn an_unknown_state_is_corrupt_not_rejected() {
        let id = Uuid::now_v7();
        let error = order_state("LOST", id).unwrap_err();
        assert!(error.to_string().contains(&id.to_string()), "{error}");
        assert_eq!(corrupt_column(error), "orders.state");
        assert_eq!(order_state("PENDING", id).unwrap(), OrderState::Pending);
    }
}
