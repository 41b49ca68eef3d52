//! SQL for the `consumers` table. Functions take any client, so reads run on a pooled
//! connection or inside the command's unit of work, and writes inside a unit of work.
//!
//! A row that cannot be read back as a [`Consumer`] (a NULL or a type the code does not
//! expect, after a botched migration or a manual edit) is [`Error::Corrupt`] naming the
//! consumer and the column, not a panic that drops the request or kills the consumer
//! loop.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use crate::domain::{Consumer, Registration};
use crate::{Error, Result};

/// The columns of a [`Consumer`], with the timestamp rendered as RFC 3339 in UTC by the
/// database (no date-time crate needed for one field that is only displayed).
const COLUMNS: &str = r#"id, name, order_limit_cents,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at"#;

/// Consumer `id`, read from `row`.
fn consumer(id: Uuid, row: &Row) -> Result<Consumer> {
    Ok(Consumer {
        id,
        name: column(id, row, "name")?,
        order_limit_cents: column(id, row, "order_limit_cents")?,
        created_at: column(id, row, "created_at")?,
    })
}

/// Column `name` of consumer `id`'s row, or [`Error::Corrupt`] naming both.
fn column<'r, T: FromSql<'r>>(id: Uuid, row: &'r Row, name: &str) -> Result<T> {
    row.try_get(name)
        .map_err(|e| Error::corrupt(format!("consumer {id}"), format!("column `{name}`: {e}")))
}

/// Stores a new consumer with id `id`.
pub async fn insert<C: GenericClient + Sync>(
    client: &C,
    id: Uuid,
    registration: &Registration,
) -> Result<Consumer> {
    let row = client
        .query_one(
            &client
                .prepare_cached(&format!(
                    "INSERT INTO consumers (id, name, order_limit_cents) VALUES ($1, $2, $3)
                 RETURNING {COLUMNS}"
                ))
                .await?,
            &[&id, &registration.name, &registration.order_limit_cents],
        )
        .await?;
    consumer(id, &row)
}

/// The consumer with id `id`, if any.
pub async fn find<C: GenericClient + Sync>(client: &C, id: Uuid) -> Result<Option<Consumer>> {
    let row = client
        .query_opt(
            &client
                .prepare_cached(&format!("SELECT {COLUMNS} FROM consumers WHERE id = $1"))
                .await?,
            &[&id],
        )
        .await?;
    row.map(|row| consumer(id, &row)).transpose()
}
