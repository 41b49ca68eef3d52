//! A service's database as its use cases reach it: pooled connections for reads, and
//! units of work (a transaction and the messages it publishes) for writes.

use std::future::Future;
use std::pin::Pin;

use deadpool_postgres::{Object, Pool};
use messaging::{Outbox, UnitOfWork};

use crate::{Error, Result};

/// The pool and the outbox, shared by a service's handlers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    outbox: Outbox,
}

/// A writing use case, given the unit of work it runs in.
pub type UseCase<'w, T, E> = Pin<Box<dyn Future<Output = std::result::Result<T, E>> + Send + 'w>>;

impl Store {
    /// The store of `pool`, whose units of work write to `outbox`.
    pub fn new(pool: Pool, outbox: Outbox) -> Self {
        Self { pool, outbox }
    }

    /// A pooled connection, for reads (the database unavailable is an error that
    /// becomes a 503).
    pub async fn connection(&self) -> Result<Object> {
        Ok(runtime::db::connection(&self.pool).await?)
    }

    /// Runs a writing use case in a unit of work on a pooled connection and commits it:
    /// the change and the messages it published, or neither (an error rolls back).
    pub async fn in_unit_of_work<T, E>(
        &self,
        use_case: impl for<'w, 'c> FnOnce(&'w mut UnitOfWork<'c>) -> UseCase<'w, T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<Error>,
    {
        let mut client = self.connection().await?;
        let mut work = self.outbox.begin(&mut client).await.map_err(Error::from)?;
        let result = use_case(&mut work).await?;
        work.commit().await.map_err(Error::from)?;
        Ok(result)
    }
}
