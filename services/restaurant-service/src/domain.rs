//! Restaurants, menus and the rule order validation applies, free of HTTP, SQL and
//! messages so they can be unit-tested: the domain has its own types ([`MenuItem`],
//! [`OrderLine`]); the REST API and the messages translate to and from them. Validation
//! errors name the field as the API spells it (`menu[1].price_cents`).

use std::collections::HashMap;

use service::http::text;
use uuid::Uuid;

use crate::{Error, Result};

/// Longest restaurant or dish name, in characters (the table checks restaurant names).
pub const MAX_NAME_CHARS: usize = text::MAX_NAME_CHARS;
/// Longest menu item id, in characters.
pub const MAX_ITEM_ID_CHARS: usize = text::MAX_ID_CHARS;
/// Most items on one menu: a menu travels whole in every `MenuRevised` event.
pub const MAX_MENU_ITEMS: usize = 500;

/// A dish on a restaurant's menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// Id, unique within the menu.
    pub id: String,
    /// Display name (trimmed once on a [`Menu`]).
    pub name: String,
    /// Price in cents, not negative on a [`Menu`].
    pub price_cents: i64,
}

/// A line of an order to validate: which menu item, how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    /// Menu item id within the restaurant's menu.
    pub menu_item_id: String,
    /// How many.
    pub quantity: u32,
}

/// A menu that passed validation: non-empty, unique item ids, names trimmed, prices not
/// negative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu(Vec<MenuItem>);

impl Menu {
    /// Validates `items`; errors name `menu`, or `menu[i].<field>` for one item.
    pub fn new(items: Vec<MenuItem>) -> Result<Self> {
        if items.is_empty() {
            return Err(Error::invalid("menu", "a menu needs at least one item"));
        }
        if items.len() > MAX_MENU_ITEMS {
            return Err(Error::invalid(
                "menu",
                format!("a menu has at most {MAX_MENU_ITEMS} items"),
            ));
        }
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let field = |name: &str| format!("menu[{i}].{name}");
            text::check(&item.id, MAX_ITEM_ID_CHARS)
                .map_err(|reason| Error::invalid(field("id"), reason))?;
            if let Some(first) = seen.insert(item.id.as_str(), i) {
                return Err(Error::invalid(
                    field("id"),
                    format!("duplicate menu item id `{}` (also menu[{first}])", item.id),
                ));
            }
            display_name(&item.name).map_err(|reason| Error::invalid(field("name"), reason))?;
            if item.price_cents < 0 {
                return Err(Error::invalid(field("price_cents"), "must not be negative"));
            }
        }
        Ok(Self(
            items
                .into_iter()
                .map(|item| MenuItem {
                    name: item.name.trim().to_owned(),
                    ..item
                })
                .collect(),
        ))
    }

    /// The items, in menu order.
    pub fn items(&self) -> &[MenuItem] {
        &self.0
    }

    /// Whether an item with id `id` is on it.
    pub fn offers(&self, id: &str) -> bool {
        self.0.iter().any(|item| item.id == id)
    }
}

/// Checks a display name (the limit counts the blanks around it, as the OpenAPI document
/// does) and trims it; `Err` holds the reason.
fn display_name(value: &str) -> Result<&str, String> {
    text::check(value, MAX_NAME_CHARS)?;
    Ok(value.trim())
}

/// A restaurant, as stored and as the events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restaurant {
    /// Its id (UUIDv7).
    pub id: Uuid,
    /// Display name, trimmed.
    pub name: String,
    /// Whether it currently delivers (orders are rejected when not).
    pub delivers: bool,
    /// Its menu.
    pub menu: Menu,
}

impl Restaurant {
    /// Validates a new restaurant and gives it id `id`.
    pub fn new(id: Uuid, name: &str, delivers: bool, menu: Vec<MenuItem>) -> Result<Self> {
        let name = display_name(name).map_err(|reason| Error::invalid("name", reason))?;
        Ok(Self {
            id,
            name: name.to_owned(),
            delivers,
            menu: Menu::new(menu)?,
        })
    }
}

/// Why a restaurant cannot make an order; the reason goes back to order-service and on
/// to whoever ordered.
///
/// The domain's own answer, not the messaging crate's `Verdict`: the rule does not know
/// it is asked by a command (the application layer maps `Ok`/`Err` to the verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

/// Can `restaurant` (looked up by `restaurant_id`, `None` if unknown) make `lines`?
/// Every faulty line is named, so the client can fix the order in one go.
pub fn check_order(
    restaurant_id: Uuid,
    restaurant: Option<&Restaurant>,
    lines: &[OrderLine],
) -> Result<(), Rejection> {
    let Some(restaurant) = restaurant else {
        return Err(Rejection(format!("restaurant {restaurant_id} not found")));
    };
    if !restaurant.delivers {
        return Err(Rejection(format!(
            "restaurant {restaurant_id} does not deliver"
        )));
    }
    if lines.is_empty() {
        return Err(Rejection("order has no line items".into()));
    }
    let problems: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            if !restaurant.menu.offers(&line.menu_item_id) {
                Some(format!("menu item {} not on the menu", line.menu_item_id))
            } else if line.quantity == 0 {
                Some(format!("menu item {} has quantity 0", line.menu_item_id))
            } else {
                None
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Rejection(problems.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, price_cents: i64) -> MenuItem {
        MenuItem {
            id: id.into(),
            name: format!("Dish {id}"),
            price_cents,
        }
    }

    fn line(id: &str, quantity: u32) -> OrderLine {
        OrderLine {
            menu_item_id: id.into(),
            quantity,
        }
    }

    fn field_of(error: Error) -> String {
        match error {
            Error::Invalid { field, .. } => field,
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn menus_name_the_faulty_item_field() {
        assert_eq!(field_of(Menu::new(vec![]).unwrap_err()), "menu");
        let negative = Menu::new(vec![item("a", 1), item("b", -1)]).unwrap_err();
        assert_eq!(field_of(negative), "menu[1].price_cents");
        let duplicate = Menu::new(vec![item("a", 1), item("b", 1), item("a", 2)]).unwrap_err();
        assert_eq!(field_of(duplicate), "menu[2].id");
        let blank_id = Menu::new(vec![item(" ", 1)]).unwrap_err();
        assert_eq!(field_of(blank_id), "menu[0].id");
        let mut unnamed = item("a", 1);
        unnamed.name = "  ".into();
        assert_eq!(
            field_of(Menu::new(vec![unnamed]).unwrap_err()),
            "menu[0].name"
        );
        let too_many = (0..=MAX_MENU_ITEMS)
            .map(|i| item(&i.to_string(), 1))
            .collect();
        assert_eq!(field_of(Menu::new(too_many).unwrap_err()), "menu");
    }

    #[test]
    fn valid_menus_keep_order_and_trim_names() {
        let mut spaced = item("b", 0);
        spaced.name = "  Soup ".into();
        let menu = Menu::new(vec![item("a", 100), spaced]).unwrap();
        assert_eq!(menu.items()[0].id, "a");
        assert_eq!(menu.items()[1].name, "Soup");
    }

    #[test]
    fn restaurants_need_a_name() {
        let e = Restaurant::new(Uuid::now_v7(), " ", true, vec![item("a", 1)]).unwrap_err();
        assert_eq!(field_of(e), "name");
    }

    #[test]
    fn orders_are_checked_against_restaurant_and_menu() {
        let id = Uuid::now_v7();
        let open = Restaurant::new(id, "Ajanta", true, vec![item("a", 1), item("b", 2)]).unwrap();
        assert_eq!(
            check_order(id, Some(&open), &[line("a", 1), line("b", 3)]),
            Ok(())
        );
        assert_eq!(
            check_order(id, None, &[line("a", 1)]),
            Err(Rejection(format!("restaurant {id} not found")))
        );
        let closed = Restaurant {
            delivers: false,
            ..open.clone()
        };
        assert_eq!(
            check_order(id, Some(&closed), &[line("a", 1)]),
            Err(Rejection(format!("restaurant {id} does not deliver")))
        );
        assert_eq!(
            check_order(id, Some(&open), &[line("z", 1), line("a", 0)]),
            Err(Rejection(
                "menu item z not on the menu; menu item a has quantity 0".into()
            ))
        );
        assert!(matches!(
            check_order(id, Some(&open), &[]),
            Err(Rejection(_))
        ));
    }
}
