//! SQL for the `consumers` table. Functions take any client, so the HTTP handlers run
//! them on a pooled connection and the command handler inside its transaction.

use tokio_postgres::GenericClient;
use tokio_postgres::Row;
use uuid::Uuid;

use crate::Result;
use crate::domain::{Consumer, Registration};

/// The columns of a [`Consumer`], with the timestamp rendered as RFC 3339 in UTC by the
/// database (no date-time crate needed for one field that is only displayed).
const COLUMNS: &str = r#"id, name, order_limit_cents,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at"#;

fn consumer(row: &Row) -> Consumer {
    Consumer {
        id: row.get("id"),
        name: row.get("name"),
        order_limit_cents: row.get("order_limit_cents"),
        created_at: row.get("created_at"),
    }
}

/// Stores a new consumer with id `id`.
pub async fn insert<C: GenericClient + Sync>(
    client: &C,
    id: Uuid,
    registration: &Registration,
) -> Result<Consumer> {
    let row = client
        .query_one(
            &format!(
                "INSERT INTO consumers (id, name, order_limit_cents) VALUES ($1, $2, $3)
                 RETURNING {COLUMNS}"
            ),
            &[&id, &registration.name, &registration.order_limit_cents],
        )
        .await?;
    Ok(consumer(&row))
}

/// The consumer with id `id`, if any.
pub async fn find<C: GenericClient + Sync>(client: &C, id: Uuid) -> Result<Option<Consumer>> {
    let row = client
        .query_opt(
            &format!("SELECT {COLUMNS} FROM consumers WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(consumer))
}
