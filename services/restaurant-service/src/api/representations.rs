//! The REST representations of restaurants and menus, and their translation to and from
//! the domain: the API's schema (`MenuItem`, `NewRestaurant`, …) is its own, so the
//! domain and the messages can change without changing the OpenAPI document.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{self, Restaurant};

/// A dish on a restaurant's menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuItem {
    /// Id, unique within the menu.
    #[schema(schema_with = service::http::text::id_schema)]
    pub id: String,
    /// Display name (surrounding blanks are trimmed).
    #[schema(schema_with = service::http::text::name_schema)]
    pub name: String,
    /// Price in cents, not negative.
    #[schema(minimum = 0)]
    pub price_cents: i64,
}

/// A restaurant to create, with its first menu.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRestaurant {
    /// Display name, 1 to 200 characters with one that is not blank and no control
    /// characters (surrounding blanks are trimmed).
    #[schema(schema_with = service::http::text::name_schema, example = "Ajanta")]
    pub name: String,
    /// Whether it delivers; orders are rejected while it does not.
    #[serde(default = "delivers_by_default")]
    #[schema(default = true)]
    pub delivers: bool,
    /// The menu: at least one item, ids unique, prices in cents and not negative.
    #[schema(min_items = 1, max_items = 500)]
    pub menu: Vec<MenuItem>,
}

fn delivers_by_default() -> bool {
    true
}

/// A whole new menu for a restaurant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuRevision {
    /// The menu: at least one item, ids unique, prices in cents and not negative.
    #[schema(min_items = 1, max_items = 500)]
    pub menu: Vec<MenuItem>,
}

/// A restaurant with its menu.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RestaurantView {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Whether it delivers.
    pub delivers: bool,
    /// Its menu, in menu order.
    pub menu: Vec<MenuItem>,
}

impl From<Restaurant> for RestaurantView {
    fn from(r: Restaurant) -> Self {
        Self {
            id: r.id,
            name: r.name,
            delivers: r.delivers,
            menu: r.menu.items().iter().cloned().map(MenuItem::from).collect(),
        }
    }
}

impl From<domain::MenuItem> for MenuItem {
    fn from(item: domain::MenuItem) -> Self {
        Self {
            id: item.id,
            name: item.name,
            price_cents: item.price_cents,
        }
    }
}

impl From<MenuItem> for domain::MenuItem {
    fn from(item: MenuItem) -> Self {
        Self {
            id: item.id,
            name: item.name,
            price_cents: item.price_cents,
        }
    }
}

/// A request's menu, as the domain validates it.
pub fn domain_menu(menu: Vec<MenuItem>) -> Vec<domain::MenuItem> {
    menu.into_iter().map(domain::MenuItem::from).collect()
}

#[cfg(test)]
mod tests {
    use service::http::json::parse;

    use super::*;

    #[test]
    fn body_errors_name_the_field() {
        let p = parse::<NewRestaurant>(br#"{"name": "A"}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("menu"));
        let p = parse::<NewRestaurant>(
            br#"{"name": "A", "menu": [{"id": "a", "name": "b", "price_cents": 1},
                                       {"id": "c", "name": "d", "price_cents": "x"}]}"#,
        )
        .unwrap_err();
        assert_eq!(p.field.as_deref(), Some("menu[1].price_cents"));
        let p =
            parse::<NewRestaurant>(br#"{"name": "A", "delivers": "yes", "menu": []}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("delivers"));
        let body: NewRestaurant = parse(br#"{"name": "A", "menu": []}"#).unwrap();
        assert!(body.delivers, "delivers defaults to true");
    }
}
