//! Read a restaurant and its menu.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::domain::Restaurant;
use crate::{Error, Result, repository};

/// Restaurant `id`; [`Error::NotFound`] if unknown, [`Error::Corrupt`] if it is stored
/// in a shape the domain refuses.
pub async fn get_restaurant<C: GenericClient + Sync>(client: &C, id: Uuid) -> Result<Restaurant> {
    repository::find(client, id)
        .await?
        .ok_or(Error::not_found("restaurant", id))
}
