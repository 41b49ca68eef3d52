//! SQL for `restaurants` and `menu_items`. Reads take any client, so the HTTP handlers
//! run them on a pooled connection and the command handler inside its transaction;
//! writes take a transaction, because each one also appends its event to the outbox.

use platform::contracts::MenuItem;
use tokio_postgres::types::Type;
use tokio_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use crate::Result;
use crate::domain::{Menu, Restaurant};

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
    insert_menu(transaction, id, menu.items()).await?;
    Ok(Some(Restaurant {
        id,
        name: row.get("name"),
        delivers: row.get("delivers"),
        menu: menu.items().to_vec(),
    }))
}

/// Inserts every item in one statement, numbering them in menu order.
async fn insert_menu(transaction: &Transaction<'_>, id: Uuid, menu: &[MenuItem]) -> Result<()> {
    let ids: Vec<&str> = menu.iter().map(|m| m.id.as_str()).collect();
    let names: Vec<&str> = menu.iter().map(|m| m.name.as_str()).collect();
    let prices: Vec<i64> = menu.iter().map(|m| m.price_cents).collect();
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

/// The restaurant with id `id` and its menu, if any.
pub async fn find<C: GenericClient + Sync>(client: &C, id: Uuid) -> Result<Option<Restaurant>> {
    let Some(row) = client
        .query_opt(
            "SELECT name, delivers FROM restaurants WHERE id = $1",
            &[&id],
        )
        .await?
    else {
        return Ok(None);
    };
    let menu = client
        .query(
            "SELECT id, name, price_cents FROM menu_items
             WHERE restaurant_id = $1 ORDER BY position",
            &[&id],
        )
        .await?
        .iter()
        .map(|item| MenuItem {
            id: item.get("id"),
            name: item.get("name"),
            price_cents: item.get("price_cents"),
        })
        .collect();
    Ok(Some(Restaurant {
        id,
        name: row.get("name"),
        delivers: row.get("delivers"),
        menu,
    }))
}
