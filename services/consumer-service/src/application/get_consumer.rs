//! Read a consumer.

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::domain::Consumer;
use crate::{Error, Result, repository};

/// Consumer `id`; [`Error::NotFound`] if unknown, [`Error::Corrupt`] if its row cannot
/// be read back.
pub async fn get_consumer<C: GenericClient + Sync>(client: &C, id: Uuid) -> Result<Consumer> {
    repository::find(client, id)
        .await?
        .ok_or(Error::not_found("consumer", id))
}
