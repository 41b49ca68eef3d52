//! The one place restaurant-service translates between its domain and the published
//! language (`contracts`): the menu and restaurant as its events carry them, and the
//! order lines a `ValidateOrderDetails` command carries.

use contracts::restaurant::{MenuRevised, RestaurantCreated};

use crate::domain::{Menu, MenuItem, OrderLine, Restaurant};

/// `RestaurantCreated` for a new restaurant.
pub fn restaurant_created(restaurant: &Restaurant) -> RestaurantCreated {
    RestaurantCreated {
        restaurant_id: restaurant.id,
        name: restaurant.name.clone(),
        delivers: restaurant.delivers,
        menu: menu(&restaurant.menu),
    }
}

/// `MenuRevised` for a restaurant whose menu was just replaced.
pub fn menu_revised(restaurant: &Restaurant) -> MenuRevised {
    MenuRevised {
        restaurant_id: restaurant.id,
        menu: menu(&restaurant.menu),
    }
}

/// A command's order lines, as the domain checks them.
pub fn order_lines(lines: &[contracts::LineItem]) -> Vec<OrderLine> {
    lines
        .iter()
        .map(|line| OrderLine {
            menu_item_id: line.menu_item_id.clone(),
            quantity: line.quantity,
        })
        .collect()
}

/// A menu as events carry it, in menu order.
fn menu(menu: &Menu) -> Vec<contracts::MenuItem> {
    menu.items().iter().map(menu_item).collect()
}

fn menu_item(item: &MenuItem) -> contracts::MenuItem {
    contracts::MenuItem {
        id: item.id.clone(),
        name: item.name.clone(),
        price_cents: item.price_cents,
    }
}
