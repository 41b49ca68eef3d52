//! Latency at a steady rate: a paced client places orders; for each, OrderValidated's
//! record timestamp minus OrderCreated's on `order.events` (the relay stamps records with
//! the source transaction's commit time), with the hops between, and the same from the
//! orders table as a cross-check.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ftgo_harness::kafka::TopicReader;
use ftgo_harness::load::{Client, Fixtures, Pacing, Until};
use ftgo_harness::{SERVICE_BINARIES, Stack};
use uuid::Uuid;

use crate::setup::{accepted, place};
use crate::system::{Observed, RunMeter, top_snapshot};
use crate::{PACED, PACED_IN_FLIGHT, PACED_RATE, SETTLE_LIMIT, step};

/// An accepted order, as the latency analysis reads it.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub(crate) id: String,
    pub(crate) sent_ms: i64,
    pub(crate) answered_ms: i64,
    pub(crate) http: Duration,
}

/// The paced client's run.
#[derive(Debug, Clone)]
pub(crate) struct Paced {
    pub(crate) placed: Vec<Placed>,
    pub(crate) failed: usize,
    pub(crate) issued_in: Duration,
    pub(crate) late: usize,
    /// Per service: messages its consumer loops handled in the run, mean ms each.
    pub(crate) handled: Vec<(String, f64, f64)>,
    pub(crate) observed: Observed,
}

/// Per service: (messages handled so far, seconds spent handling them), from
/// `ftgo_consumer_handle_seconds` (summed over its subscriptions).
async fn handling(stack: &mut Stack) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for binary in SERVICE_BINARIES {
        let service = stack.service(binary, 0);
        let count = service
            .metric("ftgo_consumer_handle_seconds_count")
            .await
            .unwrap_or(0.0);
        let sum = service
            .metric("ftgo_consumer_handle_seconds_sum")
            .await
            .unwrap_or(0.0);
        out.push((binary.to_owned(), count, sum));
    }
    out
}

/// Orders at `PACED_RATE` for `PACED`, up to `PACED_IN_FLIGHT` at once.
pub(crate) async fn run_paced(stack: &mut Stack, client: &Client, fixtures: Fixtures) -> Paced {
    let total = PACED_RATE as usize * PACED.as_secs() as usize;
    step(&format!(
        "paced: {PACED_RATE} orders/s for {PACED:?} ({total} orders, up to {PACED_IN_FLIGHT} in flight)"
    ));
    let handled_before = handling(stack).await;
    let meter = RunMeter::start(stack).await;
    let top = tokio::spawn(async {
        tokio::time::sleep(PACED / 2).await;
        top_snapshot().await
    });
    let pacing = Pacing {
        rate: f64::from(PACED_RATE),
        until: Until::Count(total),
        in_flight: PACED_IN_FLIGHT,
    };
    let (pacing, placements) = place(client, fixtures, pacing).await;
    let (placed, failed) = accepted(placements);
    let observed = meter.finish(stack, top.await.unwrap_or_default()).await;
    let handled = handling(stack)
        .await
        .into_iter()
        .zip(handled_before)
        .map(|((name, count, sum), (_, count0, sum0))| {
            let n = count - count0;
            (name, n, 1e3 * (sum - sum0) / n.max(1.0))
        })
        .collect();
    Paced {
        placed,
        failed,
        issued_in: pacing.sent_in,
        late: pacing.late,
        handled,
        observed,
    }
}

/// Commit-to-commit latencies of a set of orders.
#[derive(Debug, Clone, Default)]
pub(crate) struct Latency {
    /// Commit of OrderCreated to commit of OrderValidated, ms, per validated order.
    pub(crate) validated_ms: Vec<i64>,
    /// The same, for the first and the last third of the orders (by placement).
    pub(crate) first_third_ms: Vec<i64>,
    pub(crate) last_third_ms: Vec<i64>,
    /// Hops: OrderCreated commit -> consumer-service's reply commit, -> restaurant-
    /// service's reply commit; the later reply's commit -> OrderValidated commit.
    pub(crate) consumer_reply_ms: Vec<i64>,
    pub(crate) restaurant_reply_ms: Vec<i64>,
    pub(crate) last_reply_to_validated_ms: Vec<i64>,
    pub(crate) rejected: usize,
    pub(crate) unfinished: usize,
    /// OrderCreated's timestamp lies within its POST's send..answer window.
    pub(crate) stamps_in_window: usize,
    /// The same interval from the orders table (updated_at - created_at), ms.
    pub(crate) db_ms: Vec<f64>,
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort_unstable();
    v
}

/// Commit-to-commit latencies of `placed` orders (in placement order), from the record
/// timestamps on `order.events` and `order-service.replies`.
pub(crate) async fn validation_latency(stack: &Stack, placed: &[Placed]) -> Latency {
    let ids: HashSet<String> = placed.iter().map(|p| p.id.clone()).collect();
    step(&format!(
        "reading order.events and order-service.replies for {} orders (at most {SETTLE_LIMIT:?})",
        ids.len()
    ));
    let bootstrap = stack.broker.bootstrap_servers();
    let wanted = ids.clone();
    let records = tokio::task::spawn_blocking(move || {
        let mut reader = TopicReader::new(&bootstrap, &["order.events", "order-service.replies"])
            .expect("reader");
        reader
            .read_until(SETTLE_LIMIT, |all| {
                let finished: HashSet<&str> = all
                    .iter()
                    .filter(|r| {
                        matches!(
                            r.header("message-type"),
                            Some("OrderValidated" | "OrderRejected")
                        )
                    })
                    .filter_map(|r| r.key.as_deref())
                    .filter(|k| wanted.contains(*k))
                    .collect();
                finished.len() == wanted.len()
            })
            .to_vec()
    })
    .await
    .expect("reader task");
    // message type -> order id -> record timestamp
    let mut stamps: HashMap<&str, HashMap<&str, i64>> = HashMap::new();
    for r in &records {
        let (Some(key), Some(ts), Some(kind)) =
            (r.key.as_deref(), r.timestamp, r.header("message-type"))
        else {
            continue;
        };
        if ids.contains(key) {
            stamps.entry(kind).or_default().insert(key, ts);
        }
    }
    let empty = HashMap::new();
    let of = |kind: &str| stamps.get(kind).unwrap_or(&empty);
    let (created, validated) = (of("OrderCreated"), of("OrderValidated"));
    let (consumer, restaurant) = (of("ConsumerValidated"), of("OrderDetailsValidated"));
    let since_created = |id: &str, at: Option<&i64>| Some(at? - created.get(id)?);
    let per_order: Vec<Option<i64>> = placed
        .iter()
        .map(|p| since_created(&p.id, validated.get(p.id.as_str())))
        .collect();
    let third = placed.len() / 3;
    let hops = |m: &HashMap<&str, i64>| {
        sorted(
            placed
                .iter()
                .filter_map(|p| since_created(&p.id, m.get(p.id.as_str())))
                .collect(),
        )
    };
    let last_reply_to_validated_ms = sorted(
        placed
            .iter()
            .filter_map(|p| {
                let id = p.id.as_str();
                Some(validated.get(id)? - consumer.get(id)?.max(restaurant.get(id)?))
            })
            .collect(),
    );
    let stamps_in_window = placed
        .iter()
        .filter(|p| {
            created
                .get(p.id.as_str())
                .is_some_and(|ts| (p.sent_ms..=p.answered_ms).contains(ts))
        })
        .count();

    let db = stack.database("order_service").connect().await.expect("db");
    let uuids: Vec<Uuid> = placed.iter().filter_map(|p| p.id.parse().ok()).collect();
    let mut db_ms: Vec<f64> = db
        .query(
            "SELECT (extract(epoch FROM updated_at - created_at) * 1000)::float8
             FROM orders WHERE id = ANY($1) AND state = 'VALIDATED'",
            &[&uuids],
        )
        .await
        .expect("orders")
        .iter()
        .map(|r| r.get(0))
        .collect();
    db_ms.sort_by(f64::total_cmp);
    let rejected = of("OrderRejected").len();
    Latency {
        unfinished: ids.len() - validated.len() - rejected,
        validated_ms: sorted(per_order.iter().flatten().copied().collect()),
        first_third_ms: sorted(per_order[..third].iter().flatten().copied().collect()),
        last_third_ms: sorted(
            per_order[placed.len() - third..]
                .iter()
                .flatten()
                .copied()
                .collect(),
        ),
        consumer_reply_ms: hops(consumer),
        restaurant_reply_ms: hops(restaurant),
        last_reply_to_validated_ms,
        rejected,
        stamps_in_window,
        db_ms,
    }
}
