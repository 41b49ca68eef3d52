//! SQL for `restaurants` and `menu_items`. Reads take any client, so the HTTP handlers
//! run them on a pooled connection and the command handler inside its unit of work;
//! writes take a transaction, because each one also publishes its event.
//!
//! What is read back is checked like what is written: a menu the domain would refuse
//! (none left, a blank name, a NULL where the schema once had none) is
//! [`Error::Corrupt`] naming the restaurant, never an empty or defaulted menu that would
//! quietly reject every order or publish a wrong replica.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use crate::domain::{Menu, MenuItem, Restaurant};
use crate::{Error, Result};

/// Stores a new restaurant with its menu.
pub async fn insert(transaction: &Transaction<'_>, restaurant: &Restaurant) -> Result<()> {
    transaction
        .execute(
            "INSERT INTO restaurants (id, name, delivers) VALUES ($1, $2, $3)",
            &[&restaurant.id, &restaurant.name, &restaurant.delivers],
        )
        .await?;
    insert_menu(transaction, restaurant.id, &restaurant.menu).await
}

/// Replaces the menu of restaurant `id`; `None` if there is no such restaurant.
///
/// The restaurant row is locked first, so concurrent revisions of one restaurant commit
/// one after the other and their events reach the outbox in the order of the menus they
/// left behind.
pub async fn replace_menu(
    transaction: &Transaction<'_>,
    id: Uuid,
    menu: &Menu,
) -> Result<Option<Restaurant>> {
    let Some(row) = transaction
        .query_opt(
            "SELECT name, delivers FROM restaurants WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    transaction
        .execute("DELETE FROM menu_items WHERE restaurant_id = $1", &[&id])
        .await?;
    insert_menu(transaction, id, menu).await?;
    Ok(Some(Restaurant {
        id,
        name: column(&row, id, "name")?,
        delivers: column(&row, id, "delivers")?,
        menu: menu.clone(),
    }))
}

/// Inserts every item in one statement, numbering them in menu order.
async fn insert_menu(transaction: &Transaction<'_>, id: Uuid, menu: &Menu) -> Result<()> {
    let items = menu.items();
    let ids: Vec<&str> = items.iter().map(|m| m.id.as_str()).collect();
    let names: Vec<&str> = items.iter().map(|m| m.name.as_str()).collect();
    let prices: Vec<i64> = items.iter().map(|m| m.price_cents).collect();
    transaction
        .query_typed(
            "INSERT INTO menu_items (restaurant_id, position, id, name, price_cents)
             SELECT $1, (m.ordinality - 1)::int, m.id, m.name, m.price_cents
             FROM unnest($2::text[], $3::text[], $4::int8[])
                  WITH ORDINALITY AS m(id, name, price_cents, ordinality)",
            &[
                (&id, Type::UUID),
                (&ids, Type::TEXT_ARRAY),
                (&names, Type::TEXT_ARRAY),
                (&prices, Type::INT8_ARRAY),
            ],
        )
        .await?;
    Ok(())
}

/// The restaurant with id `id` and its menu, if any; [`Error::Corrupt`] if what is
/// stored is not a restaurant the domain would accept.
pub async fn find<C: GenericClient + Sync>(client: &C, id: Uuid) -> Result<Option<Restaurant>> {
    let Some(row) = client
        .query_opt(
            &client
                .prepare_cached("SELECT name, delivers FROM restaurants WHERE id = $1")
                .await?,
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    let items = client
        .query(
            &client
                .prepare_cached(
                    "SELECT id, name, price_cents FROM menu_items
             WHERE restaurant_id = $1 ORDER BY position",
                )
                .await?,
            &[&id],
        )
        .await?
        .iter()
        .map(|item| {
            Ok(MenuItem {
                id: column(item, id, "id")?,
                name: column(item, id, "name")?,
                price_cents: column(item, id, "price_cents")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let menu = Menu::new(items).map_err(|e| corrupt(id, e))?;
    Ok(Some(Restaurant {
        id,
        name: column(&row, id, "name")?,
        delivers: column(&row, id, "delivers")?,
        menu,
    }))
}

/// Column `name` of a row of restaurant `id`; a NULL or a type the code does not expect
/// is corruption, not a panic.
fn column<'r, T: FromSql<'r>>(row: &'r Row, id: Uuid, name: &str) -> Result<T> {
    row.try_get(name)
        .map_err(|e| corrupt(id, format!("column `{name}`: {e}")))
}

/// Restaurant `id` as stored cannot be read back.
fn corrupt(id: Uuid, reason: impl ToString) -> Error {
    Error::corrupt(format!("restaurant {id}"), reason.to_string())
}
