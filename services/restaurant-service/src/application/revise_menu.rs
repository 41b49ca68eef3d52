//! Replace a restaurant's menu; publishes `MenuRevised` with the whole new menu.

use contracts::restaurant::MENU_REVISED;
use messaging::UnitOfWork;
use uuid::Uuid;

use super::publish_event;
use crate::domain::{Menu, MenuItem, Restaurant};
use crate::{Error, Result, contract, repository};

/// A new menu for a restaurant, as the domain takes it (not yet validated).
#[derive(Debug, Clone)]
pub struct ReviseMenu {
    /// The restaurant.
    pub restaurant_id: Uuid,
    /// Its whole new menu.
    pub menu: Vec<MenuItem>,
    /// The W3C trace context of the request, carried onto the event.
    pub traceparent: Option<String>,
}

/// Validates the menu, replaces the stored one and publishes `MenuRevised` in `work`;
/// [`Error::NotFound`] for an unknown restaurant.
pub async fn revise_menu(work: &mut UnitOfWork<'_>, command: ReviseMenu) -> Result<Restaurant> {
    let id = command.restaurant_id;
    let menu = Menu::new(command.menu)?;
    let restaurant = repository::replace_menu(work.transaction(), id, &menu)
        .await?
        .ok_or(Error::not_found("restaurant", id))?;
    publish_event(
        work,
        id,
        MENU_REVISED,
        &contract::menu_revised(&restaurant),
        command.traceparent.as_deref(),
    )?;
    tracing::info!(restaurant_id = %id, items = restaurant.menu.items().len(), "menu revised");
    Ok(restaurant)
}
