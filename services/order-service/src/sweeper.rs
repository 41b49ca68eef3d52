//! Rejects orders whose validation did not complete before their deadline, so no order
//! stays PENDING forever when a validating service is down for long; and after each sweep
//! publishes how many orders are PENDING and how old the oldest is.

use std::time::Duration;

use deadpool_postgres::Pool;
use tokio::sync::watch;

use crate::domain::Validation;
use crate::handlers::record_validation;
use crate::metrics::OrderMetrics;
use crate::repository;

/// Orders handled per sweep transaction.
const BATCH: i64 = 100;

/// Sweeps every `interval` until `stop`.
pub async fn run(
    pool: Pool,
    interval: Duration,
    metrics: OrderMetrics,
    mut stop: watch::Receiver<bool>,
) -> platform::Result<()> {
    loop {
        if let Err(e) = sweep(&pool, &metrics).await {
            tracing::warn!(error = %e, "deadline sweep failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}

async fn sweep(pool: &Pool, metrics: &OrderMetrics) -> platform::Result<()> {
    let mut client = platform::db::connection(pool).await?;
    let transaction = client.transaction().await?;
    for mut order in repository::overdue_for_update(&*transaction, BATCH).await? {
        record_validation(
            &transaction,
            &mut order,
            Validation::DeadlinePassed,
            metrics,
        )
        .await?;
        tracing::info!(order_id = %order.id, "rejected: validation deadline passed");
    }
    transaction.commit().await?;
    let (pending, oldest_age) = repository::pending_summary(&**client).await?;
    metrics.set_pending(pending, oldest_age);
    Ok(())
}
