//! Set-up for consumer-service's tests; the shared machinery is `ftgo_test_support`.
//!
//! Tests run on a multi-threaded runtime: the app serves on it while a test blocks a
//! thread reading Kafka (`read_until`).

pub use ftgo_test_support::*;

use ftgo_harness::Stack;

/// The service's database (and the relay's source).
pub const DATABASE: &str = "consumer_service";

/// A stack with consumer-service serving in this process, its outbox relayed when `relay`
/// (see [`start_in_process`]).
pub async fn start(relay: bool) -> (Stack, TestApp) {
    start_in_process(DATABASE, &[], relay, consumer_service::build).await
}
