//! A service built and run inside the test process (zero-to-production's way): settings
//! pointing at a real stack's database and broker, HTTP and gRPC on port 0, the
//! application's own `build`, and a stop when the test ends.

use std::collections::HashMap;
use std::net::SocketAddr;

use std::future::Future;

use ftgo_harness::Stack;
use serde::de::DeserializeOwned;
use service::{ServiceApp, Stopped};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The `FTGO_*` settings of `service` (its database name, e.g. `order_service`) run in
/// this process against `stack`: its database (password given directly: nothing leaves
/// the process), the stack's broker and topic prefix, HTTP on port 0 (and gRPC, for the
/// service that serves it). `extra` adds or overrides settings. Load them with `runtime::config::ConfigSource::from_env`.
pub fn settings_env(
    stack: &Stack,
    service: &str,
    extra: &[(&str, &str)],
) -> HashMap<String, String> {
    let db = stack.database(service);
    let kafka = stack.kafka();
    let mut env: HashMap<String, String> = [
        ("FTGO_HTTP__PORT", "0".to_owned()),
        ("FTGO_DATABASE__HOST", db.host.clone()),
        ("FTGO_DATABASE__PORT", db.port.to_string()),
        ("FTGO_DATABASE__USER", db.user.clone()),
        ("FTGO_DATABASE__NAME", db.name.clone()),
        ("FTGO_DATABASE__PASSWORD", db.password.clone()),
        ("FTGO_KAFKA__BROKERS", kafka.bootstrap.clone()),
        ("FTGO_KAFKA__TOPIC_PREFIX", kafka.topic_prefix.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if service == "consumer_service" {
        env.insert("FTGO_GRPC__PORT".to_owned(), "0".to_owned());
    }
    for (key, value) in extra {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    env
}

/// A fresh stack with a service built by its own `build` from its settings (database
/// `database`, `extra` added) and serving in this process on port 0; when `relay`, its
/// outbox relayed to Kafka by the real relay, started after the app migrated (its
/// migrations create the outbox the relay streams).
///
/// Tests using it run on a multi-threaded runtime: the app serves on the test's runtime
/// while a test may block a thread reading Kafka.
pub async fn start_in_process<S, E, F, Fut>(
    database: &str,
    extra: &[(&str, &str)],
    relay: bool,
    build: F,
) -> (Stack, TestApp)
where
    S: DeserializeOwned,
    E: std::fmt::Debug,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = Result<ServiceApp, E>>,
{
    let mut stack = Stack::start().await.unwrap();
    let settings: S =
        runtime::config::ConfigSource::from_env(settings_env(&stack, database, extra))
            .load()
            .unwrap();
    let app = TestApp::spawn(build(settings).await.unwrap());
    if relay {
        let relay = stack.start_relay(database, &[]).await.unwrap();
        relay.wait_ready(crate::WITHIN).await.unwrap();
    }
    (stack, app)
}

/// A [`ServiceApp`] serving in a task of this test; stopped (gracefully) on
/// [`TestApp::stop`] or when dropped.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>` of its HTTP API.
    pub url: String,
    /// Its gRPC address, when it serves gRPC.
    pub grpc: Option<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<JoinHandle<service::Result<Stopped>>>,
}

impl TestApp {
    /// Serves `app` (built by the service's own `build`) until stopped.
    pub fn spawn(app: ServiceApp) -> Self {
        let url = format!("http://{}", app.local_addr().expect("a bound address"));
        let grpc = app.grpc_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            url,
            grpc,
            stop: Some(stop),
            serving: Some(serving),
        }
    }

    /// Stops it gracefully and says how the stop ended.
    pub async fn stop(mut self) -> Stopped {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let serving = self.serving.take().expect("not stopped before");
        serving
            .await
            .expect("the app's task does not panic")
            .expect("the app stops without error")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
