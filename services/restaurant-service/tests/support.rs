//! Set-up for restaurant-service's tests; the shared machinery is `ftgo_test_support`.
//!
//! Tests run on a multi-threaded runtime: the app serves on it while a test blocks a
//! thread reading Kafka (`read_until`).

pub use ftgo_test_support::*;

use ftgo_harness::Stack;
use restaurant_service::Settings;

/// The service's database (and the relay's source).
pub const DATABASE: &str = "restaurant_service";

/// A stack with restaurant-service built and serving in this process on port 0 and,
/// when `relay`, its outbox relayed to Kafka by the real relay (started after the app
/// migrated: its migrations create the outbox the relay streams).
pub async fn start(relay: bool) -> (Stack, TestApp) {
    let mut stack = Stack::start().await.unwrap();
    let settings: Settings =
        runtime::config::ConfigSource::from_env(settings_env(&stack, DATABASE, &[]))
            .load()
            .unwrap();
    let app = TestApp::spawn(restaurant_service::build(settings).await.unwrap());
    if relay {
        let relay = stack.start_relay(DATABASE, &[]).await.unwrap();
        relay.wait_ready(WITHIN).await.unwrap();
    }
    (stack, app)
}
