//! The database and the broker, watched: their health as metrics, not as readiness.
//!
//! A service's readiness used to follow both, so a broker outage made every replica
//! unready at once: GETs failed although nothing they need was down, and the
//! PodDisruptionBudgets then blocked `kubectl drain`. But the API never needs the broker:
//! every write goes to the service's own database, the outbox with it, and the relay
//! delivers later. And when the database is down, every replica shares the outage:
//! taking them all out of their Service turns a clear `503 problem+json` into connection
//! errors, and helps nothing. So `/readyz` says only whether this process can serve
//! (started, not stopping), and `ftgo_dependency_up{dependency}` says what an operator
//! needs to know, with the log line at each change.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::Pool;
use prometheus::{IntGaugeVec, Opts, Registry};
use rdkafka::consumer::{BaseConsumer, Consumer};
use tokio::sync::watch;

use runtime::config::KafkaSettings;

use crate::Result;

/// How often the dependencies are checked.
const INTERVAL: Duration = Duration::from_secs(2);

/// The dependencies watched (bounded label values).
const DEPENDENCIES: [&str; 2] = ["database", "broker"];

/// `ftgo_dependency_up{dependency}`: 1 while the dependency answers.
#[derive(Debug, Clone)]
pub struct DependencyMetrics {
    up: IntGaugeVec,
}

impl DependencyMetrics {
    /// Registers the gauge, at 1 for each dependency (the service started with both).
    pub fn register(registry: &Registry) -> Result<Self> {
        let up = IntGaugeVec::new(
            Opts::new(
                "ftgo_dependency_up",
                "Whether the service's database and the broker answer (1) or not (0)",
            ),
            &["dependency"],
        )?;
        registry.register(Box::new(up.clone()))?;
        for dependency in DEPENDENCIES {
            up.with_label_values(&[dependency]).set(1);
        }
        Ok(Self { up })
    }

    /// Records a check's outcome, logging a change.
    fn record(&self, dependency: &str, outcome: std::result::Result<(), String>) {
        let gauge = self.up.with_label_values(&[dependency]);
        let was_up = gauge.get() == 1;
        match outcome {
            Ok(()) => {
                if !was_up {
                    tracing::info!(dependency, "dependency answers again");
                }
                gauge.set(1);
            }
            Err(error) => {
                if was_up {
                    tracing::warn!(dependency, %error, "dependency does not answer; still serving");
                }
                gauge.set(0);
            }
        }
    }
}

/// Checks the database and the broker every [`INTERVAL`] until `stop`.
pub async fn watch(
    pool: Pool,
    kafka: KafkaSettings,
    metrics: DependencyMetrics,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let probe: Arc<BaseConsumer> =
        Arc::new(kafka.create(&kafka.client_config(&[]), "probe client")?);
    loop {
        let database = match runtime::db::connection(&pool).await {
            Ok(client) => client
                .simple_query("SELECT 1")
                .await
                .map(|_| ())
                .map_err(|e| runtime::Error::from(e).to_string()),
            Err(e) => Err(e.to_string()),
        };
        metrics.record("database", database);
        let client = Arc::clone(&probe);
        let broker = tokio::task::spawn_blocking(move || {
            client
                .fetch_metadata(None, Duration::from_secs(2))
                .map(|_| ())
        })
        .await;
        metrics.record(
            "broker",
            match broker {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("probe: {e}")),
            },
        );
        tokio::select! {
            _ = tokio::time::sleep(INTERVAL) => {}
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}
