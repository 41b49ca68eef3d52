//! The suite's load: the harness's load engine placing the standard mix (every kind of
//! rejection among valid orders) round-robin over the order-service instances, for as
//! long as a round lasts.

use std::collections::BTreeMap;

use ftgo_harness::load::{Answer, Client, Fixtures, Mix, Pacer, Pacing, Until};
use uuid::Uuid;

/// Starts placing `per_second` orders per second. No limit on requests in flight: an
/// order due goes out even while earlier ones hang in a fault.
pub fn start(client: &Client, fixtures: Fixtures, per_second: f64) -> Pacer {
    let pacing = Pacing {
        rate: per_second,
        until: Until::Stopped,
        in_flight: usize::MAX,
    };
    Pacer::start(client.clone(), fixtures, Mix::standard(), pacing)
}

/// What one stretch of load placed.
#[derive(Debug, Default)]
pub struct Placed {
    /// Orders answered 201.
    pub accepted: Vec<Uuid>,
    /// Requests not answered 201, by what happened (`HTTP 503`, `connection refused`, ...).
    pub refused: BTreeMap<String, usize>,
}

/// Stops placing orders, waits for the answers still due, and returns what happened.
pub async fn stop(load: Pacer) -> Placed {
    load.stop();
    let (_, placements) = load.finish().await;
    let mut placed = Placed::default();
    for placement in placements {
        match placement.exchange.answer {
            Answer::Accepted(id) => placed.accepted.push(id),
            Answer::Refused(why) => *placed.refused.entry(why).or_default() += 1,
        }
    }
    placed
}
