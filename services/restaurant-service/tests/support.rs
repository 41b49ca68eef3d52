//! Set-up for restaurant-service's tests; the shared machinery is `ftgo_test_support`.

pub use ftgo_test_support::*;

pub const BINARY: &str = "restaurant-service";

/// A stack with restaurant-service ready and, when `relay`, its outbox relayed to Kafka.
pub async fn start(relay: bool) -> (ftgo_harness::Stack, String) {
    start_service(BINARY, relay).await
}
