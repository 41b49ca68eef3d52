//! Set-up for consumer-service's tests; the shared machinery is `ftgo_test_support`.
//!
//! Tests run on a multi-threaded runtime: the app serves on it while a test blocks a
//! thread reading Kafka (`read_until`).

pub use ftgo_test_support::*;

use consumer_service::Settings;
use ftgo_harness::Stack;

/// The service's database (and the relay's source).
pub const DATABASE: &str = "consumer_service";

/// A stack with consumer-service built and serving in this process on port 0 (HTTP and gRPC) and,
/// when `relay`, its outbox relayed to Kafka by the real relay (started after the app
/// migrated: its migrations create the outbox the relay streams).
pub async fn start(relay: bool) -> (Stack, TestApp) {
    let mut stack = Stack::start().await.unwrap();
    let settings: Settings =
        runtime::config::ConfigSource::from_env(settings_env(&stack, DATABASE, &[]))
            .load()
            .unwrap();
    let app = TestApp::spawn(consumer_service::build(settings).await.unwrap());
    if relay {
        let relay = stack.start_relay(DATABASE, &[]).await.unwrap();
        relay.wait_ready(WITHIN).await.unwrap();
    }
    (stack, app)
}
