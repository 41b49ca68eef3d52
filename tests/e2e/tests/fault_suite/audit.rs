//! The invariants, checked from the databases and the topics once the system is quiet.
//!
//! Every order makes exactly six messages, each with its own `message-id`:
//! `OrderCreated`, `ValidateConsumerInfo` and `ValidateOrderDetails` (order-service's
//! intake transaction), one reply from consumer-service and one from restaurant-service
//! (each written in the transaction that handled the command), and `OrderValidated` or
//! `OrderRejected` (the transaction that applied the deciding reply). Their types follow
//! from the order's inputs. So, per order and type:
//! - no message id at all: the message was **lost**;
//! - the same id in several records: a **duplicate delivered** (a relay re-publishing
//!   after a crash; consumers must skip it);
//! - several ids: the step that writes it ran twice, a **duplicate applied** (a command
//!   handled twice makes two replies with fresh ids; a reply applied twice to a pending
//!   order two outcome events).
//!
//! And each consumer's `processed_messages` must hold as many rows as distinct messages
//! reached its topic: fewer means a delivered message was never handled.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{Duration, Instant};

use contracts::{consumer, order, restaurant};
use ftgo_harness::kafka::{ReceivedRecord, TopicReader};
use ftgo_harness::load::{Fixtures, Kind, Outcome};
use ftgo_harness::{DEAD_LETTER_TOPIC, ServiceDatabase};
use outbox::headers::MESSAGE_ID;
use serde_json::Value;
use uuid::Uuid;

use crate::support::System;

/// The topics read back: every channel the orders use, the restaurant events and the
/// dead letters.
const TOPICS: [&str; 6] = [
    order::EVENTS,
    consumer::COMMANDS,
    restaurant::COMMANDS,
    order::REPLIES,
    restaurant::EVENTS,
    DEAD_LETTER_TOPIC,
];

/// Each subscriber and the topic whose messages it must have handled once each.
const SUBSCRIBERS: [(&str, &str); 4] = [
    ("order-service", order::REPLIES),
    ("order-service.restaurant-replica", restaurant::EVENTS),
    ("consumer-service", consumer::COMMANDS),
    ("restaurant-service", restaurant::COMMANDS),
];

/// The service databases.
const DATABASES: [&str; 3] = ["order_service", "consumer_service", "restaurant_service"];

/// The restaurants the fixtures create: one `RestaurantCreated` each.
const RESTAURANT_EVENTS: usize = 2;

/// The six message types an order of `kind` makes.
fn messages_of(kind: Kind) -> [&'static str; 6] {
    let consumer_reply = match kind {
        Kind::UnknownConsumer | Kind::OverLimit => consumer::CONSUMER_REJECTED,
        _ => consumer::CONSUMER_VALIDATED,
    };
    let details_reply = match kind {
        Kind::OffMenu | Kind::NotDelivering => restaurant::ORDER_DETAILS_REJECTED,
        _ => restaurant::ORDER_DETAILS_VALIDATED,
    };
    let outcome = match kind {
        Kind::Valid => order::ORDER_VALIDATED,
        _ => order::ORDER_REJECTED,
    };
    [
        order::ORDER_CREATED,
        consumer::VALIDATE_CONSUMER_INFO,
        restaurant::VALIDATE_ORDER_DETAILS,
        consumer_reply,
        details_reply,
        outcome,
    ]
}

/// Every record read so far, by message id and by (order, message type).
#[derive(Debug, Default)]
struct MessageIndex {
    /// Records absorbed (the reader keeps them all; only new ones are indexed).
    seen: usize,
    /// Message id → (topic, records carrying it).
    copies: HashMap<String, (String, usize)>,
    /// (order id, message type) → distinct message ids.
    effects: HashMap<(Uuid, String), HashSet<String>>,
    dead_letters: usize,
    /// Records that belong to no order and are no restaurant event.
    strays: Vec<String>,
}

impl MessageIndex {
    fn absorb(&mut self, records: &[ReceivedRecord]) {
        for r in &records[self.seen..] {
            if r.topic == DEAD_LETTER_TOPIC {
                self.dead_letters += 1;
                continue;
            }
            let describe = || format!("{} offset {} ({:?})", r.topic, r.offset, r.headers);
            let Some(id) = r.header(MESSAGE_ID) else {
                self.strays.push(describe());
                continue;
            };
            self.copies
                .entry(id.to_owned())
                .or_insert_with(|| (r.topic.clone(), 0))
                .1 += 1;
            if r.topic == restaurant::EVENTS {
                continue;
            }
            let order_id = serde_json::from_slice::<Value>(&r.payload)
                .ok()
                .and_then(|p| p["order_id"].as_str().and_then(|s| s.parse().ok()));
            match (order_id, r.header("message-type")) {
                (Some(order_id), Some(kind)) => {
                    self.effects
                        .entry((order_id, kind.to_owned()))
                        .or_default()
                        .insert(id.to_owned());
                }
                _ => self.strays.push(describe()),
            }
        }
        self.seen = records.len();
    }

    fn distinct_on(&self, topic: &str) -> usize {
        self.copies.values().filter(|(t, _)| t == topic).count()
    }
}

/// An order as stored.
#[derive(Debug)]
struct OrderRow {
    id: Uuid,
    consumer_id: Uuid,
    restaurant_id: Uuid,
    line_items: Value,
    state: String,
    rejection_reason: Option<String>,
}

/// What the databases hold at one moment.
#[derive(Debug)]
struct Snapshot {
    orders: Vec<OrderRow>,
    /// Subscriber → rows in its `processed_messages`.
    processed: HashMap<String, usize>,
}

/// The state of the invariants at one moment (over everything since the start).
#[derive(Debug, Default)]
pub struct Audit {
    /// Orders in order-service's database.
    pub orders: usize,
    /// Of them, VALIDATED.
    pub validated: usize,
    /// Of them, REJECTED.
    pub rejected: usize,
    /// Of them, still PENDING.
    pub pending: usize,
    /// Orders (or messages) that ended other than their inputs dictate.
    pub wrong: Vec<String>,
    /// Orders answered 201 that are not in the database.
    pub accepted_missing: usize,
    /// Records read (dead letters excepted).
    pub records: usize,
    /// Distinct message ids among them.
    pub distinct: usize,
    /// Records repeating a message id already delivered.
    pub duplicates_delivered: usize,
    /// Steps that ran more than once (extra message ids for one order and type).
    pub duplicates_applied: usize,
    /// Messages an order (or the fixtures) made that no record carries.
    pub lost_messages: usize,
    /// Distinct messages on a topic minus the rows its subscriber recorded as processed.
    pub unhandled: usize,
    /// Records on the dead-letter topic.
    pub dead_letters: usize,
    /// Whether every order ended and every message arrived and was handled in time.
    pub quiescent: bool,
    /// How long reaching that took.
    pub quiet_after: Duration,
}

impl Audit {
    /// Messages lost, orders lost, messages never handled.
    pub fn lost(&self) -> usize {
        self.lost_messages + self.accepted_missing + self.unhandled
    }

    fn quiet(&self) -> bool {
        self.pending == 0 && self.lost() == 0
    }
}

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} orders ({} VALIDATED, {} REJECTED, {} PENDING, {} wrong); {} messages in {} \
             records: duplicates delivered {}, duplicates applied {}, lost {} (messages {}, \
             accepted orders {}, unhandled {}), dead letters {}",
            self.orders,
            self.validated,
            self.rejected,
            self.pending,
            self.wrong.len(),
            self.distinct,
            self.records,
            self.duplicates_delivered,
            self.duplicates_applied,
            self.lost(),
            self.lost_messages,
            self.accepted_missing,
            self.unhandled,
            self.dead_letters
        )
    }
}

/// Reads the databases and the topics, and judges them.
pub struct Auditor {
    fixtures: Fixtures,
    reader: TopicReader,
    index: RefCell<MessageIndex>,
    databases: HashMap<&'static str, ServiceDatabase>,
}

impl fmt::Debug for Auditor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auditor").finish_non_exhaustive()
    }
}

impl Auditor {
    /// Reads the system's topics from the beginning.
    pub fn new(system: &System, fixtures: Fixtures) -> Self {
        let databases = DATABASES
            .into_iter()
            .map(|db| (db, system.stack.database(db).clone()))
            .collect();
        Self {
            fixtures,
            reader: system.stack.topic_reader(&TOPICS).expect("read the topics"),
            index: RefCell::default(),
            databases,
        }
    }

    /// Waits (at most `within`) until every order has ended and every message has
    /// arrived and been handled, then returns the invariants' state; `quiescent` says
    /// whether that happened in time.
    pub async fn audit(&mut self, accepted: &HashSet<Uuid>, within: Duration) -> Audit {
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Some(snapshot) = self.snapshot().await {
                let mut audit = judge(&self.fixtures, &self.index.borrow(), &snapshot, accepted);
                audit.quiet_after = started.elapsed();
                if audit.quiet() {
                    audit.quiescent = true;
                    return audit;
                }
                last = Some(audit);
            }
            if started.elapsed() > within {
                return last.expect("the databases answered at least once while waiting");
            }
            self.read(Duration::from_secs(1));
        }
    }

    /// Reads whatever the topics deliver for `within`, then on to the end of every
    /// partition as it is now, so a duplicate already on the broker is counted before
    /// the round is judged quiet.
    fn read(&mut self, within: Duration) {
        let index = &self.index;
        self.reader.read_until(within, |records| {
            index.borrow_mut().absorb(records);
            false
        });
        let records = self
            .reader
            .read_to_end(Duration::from_secs(30))
            .expect("read the topics to their end");
        index.borrow_mut().absorb(records);
    }

    /// The databases now, or `None` if one does not answer (PostgreSQL restarting).
    async fn snapshot(&self) -> Option<Snapshot> {
        let orders = self.databases["order_service"]
            .connect()
            .await
            .ok()?
            .query(
                "SELECT id, consumer_id, restaurant_id, line_items, state, rejection_reason
                 FROM orders",
                &[],
            )
            .await
            .ok()?
            .into_iter()
            .map(|row| OrderRow {
                id: row.get("id"),
                consumer_id: row.get("consumer_id"),
                restaurant_id: row.get("restaurant_id"),
                line_items: row.get("line_items"),
                state: row.get("state"),
                rejection_reason: row.get("rejection_reason"),
            })
            .collect();
        let mut processed = HashMap::new();
        for db in DATABASES {
            let rows = self.databases[db]
                .connect()
                .await
                .ok()?
                .query(
                    "SELECT subscriber, count(*) FROM processed_messages GROUP BY subscriber",
                    &[],
                )
                .await
                .ok()?;
            for row in rows {
                let count: i64 = row.get(1);
                processed.insert(row.get(0), usize::try_from(count).unwrap_or(0));
            }
        }
        Some(Snapshot { orders, processed })
    }
}

/// The invariants' state given what the topics delivered (`index`) and the databases hold.
fn judge(
    fixtures: &Fixtures,
    index: &MessageIndex,
    snapshot: &Snapshot,
    accepted: &HashSet<Uuid>,
) -> Audit {
    let mut audit = Audit {
        orders: snapshot.orders.len(),
        dead_letters: index.dead_letters,
        wrong: index.strays.clone(),
        ..Audit::default()
    };
    let stored: HashSet<Uuid> = snapshot.orders.iter().map(|o| o.id).collect();
    audit.accepted_missing = accepted.difference(&stored).count();
    let mut expected: HashSet<(Uuid, &str)> = HashSet::new();
    for row in &snapshot.orders {
        let Some(kind) = fixtures.kind_of(row.consumer_id, row.restaurant_id, &row.line_items)
        else {
            audit
                .wrong
                .push(format!("order {} was not placed by the suite", row.id));
            continue;
        };
        let types = messages_of(kind);
        expected.extend(types.map(|t| (row.id, t)));
        audit.lost_messages += types
            .iter()
            .filter(|t| !index.effects.contains_key(&(row.id, (**t).to_owned())))
            .count();
        let reason = row.rejection_reason.as_deref().unwrap_or("");
        match (row.state.as_str(), fixtures.outcome(kind)) {
            ("PENDING", _) => audit.pending += 1,
            ("VALIDATED", Outcome::Validated) => audit.validated += 1,
            ("REJECTED", Outcome::Rejected(why)) if reason.contains(&why) => {
                audit.rejected += 1;
            }
            (state, outcome) => audit.wrong.push(format!(
                "order {} ({kind:?}) is {state} ({reason}), expected {outcome:?}",
                row.id
            )),
        }
    }
    for ((order_id, message_type), ids) in &index.effects {
        audit.duplicates_applied += ids.len() - 1;
        if !expected.contains(&(*order_id, message_type.as_str())) {
            audit.wrong.push(format!(
                "a {message_type} message for order {order_id}, which does not make one"
            ));
        }
    }
    audit.lost_messages += RESTAURANT_EVENTS.saturating_sub(index.distinct_on(restaurant::EVENTS));
    audit.records = index.copies.values().map(|(_, n)| n).sum();
    audit.distinct = index.copies.len();
    audit.duplicates_delivered = audit.records - audit.distinct;
    for (subscriber, topic) in SUBSCRIBERS {
        let handled = snapshot.processed.get(subscriber).copied().unwrap_or(0);
        audit.unhandled += index.distinct_on(topic).saturating_sub(handled);
    }
    audit
}

/// The audit must be able to fail: each kind of violation, made up, is counted.
#[test]
fn lost_duplicated_twice_applied_and_wrong_outcomes_are_each_counted() {
    use std::collections::BTreeMap;

    let fixtures = Fixtures::made_up();
    let row = |kind: Kind, state: &str, reason: Option<&str>| {
        let body = fixtures.body(kind);
        OrderRow {
            id: Uuid::now_v7(),
            consumer_id: body["consumer_id"].as_str().unwrap().parse().unwrap(),
            restaurant_id: body["restaurant_id"].as_str().unwrap().parse().unwrap(),
            line_items: body["line_items"].clone(),
            state: state.to_owned(),
            rejection_reason: reason.map(str::to_owned),
        }
    };
    let record = |topic: &str, order: Uuid, message_type: &str, id: &str| ReceivedRecord {
        topic: topic.to_owned(),
        partition: 0,
        offset: 0,
        key: Some(order.to_string()),
        payload: serde_json::to_vec(&serde_json::json!({ "order_id": order })).unwrap(),
        headers: BTreeMap::from([
            (MESSAGE_ID.to_owned(), id.to_owned()),
            ("message-type".to_owned(), message_type.to_owned()),
        ]),
        timestamp: None,
    };
    // A valid order, validated: its OrderValidated never arrived (lost), its command was
    // delivered twice under one id (duplicate delivered) and consumer-service replied
    // twice (duplicate applied).
    let valid = row(Kind::Valid, "VALIDATED", None);
    // An order off the menu that ended VALIDATED: wrong.
    let off_menu = row(Kind::OffMenu, "VALIDATED", None);
    let mut records = vec![
        record(order::EVENTS, valid.id, order::ORDER_CREATED, "a"),
        record(
            consumer::COMMANDS,
            valid.id,
            consumer::VALIDATE_CONSUMER_INFO,
            "b",
        ),
        record(
            consumer::COMMANDS,
            valid.id,
            consumer::VALIDATE_CONSUMER_INFO,
            "b",
        ),
        record(
            restaurant::COMMANDS,
            valid.id,
            restaurant::VALIDATE_ORDER_DETAILS,
            "c",
        ),
        record(order::REPLIES, valid.id, consumer::CONSUMER_VALIDATED, "d"),
        record(order::REPLIES, valid.id, consumer::CONSUMER_VALIDATED, "e"),
        record(
            order::REPLIES,
            valid.id,
            restaurant::ORDER_DETAILS_VALIDATED,
            "f",
        ),
    ];
    for (i, t) in messages_of(Kind::OffMenu).into_iter().enumerate() {
        records.push(record(order::EVENTS, off_menu.id, t, &format!("m{i}")));
    }
    let mut index = MessageIndex::default();
    index.absorb(&records);
    let accepted: HashSet<Uuid> = [valid.id, off_menu.id, Uuid::now_v7()].into();
    let snapshot = Snapshot {
        orders: vec![valid, off_menu],
        processed: HashMap::from([("consumer-service".to_owned(), 1)]),
    };

    let audit = judge(&fixtures, &index, &snapshot, &accepted);
    assert_eq!(audit.lost_messages, 1 + RESTAURANT_EVENTS, "{audit}");
    assert_eq!(audit.accepted_missing, 1, "{audit}");
    assert_eq!(audit.duplicates_delivered, 1, "{audit}");
    assert_eq!(audit.duplicates_applied, 1, "{audit}");
    // Replies: 3 distinct, none processed; restaurant commands: 1, none processed.
    assert_eq!(audit.unhandled, 3 + 1, "{audit}");
    assert_eq!(audit.wrong.len(), 1, "{:?}", audit.wrong);
    assert!(audit.wrong[0].contains("OffMenu"), "{:?}", audit.wrong);
    assert_eq!((audit.validated, audit.rejected, audit.pending), (1, 0, 0));
}
