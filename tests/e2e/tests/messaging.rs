//! Idempotent and competing consumers, and poison messages, across the real system.

use std::time::Duration;

use ftgo_harness::kafka::ReceivedRecord;
use ftgo_harness::{DEAD_LETTER_TOPIC, Stack};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::support::{System, metric};

/// Produces a copy of `record` (same key, headers, payload: the same message id).
async fn reproduce(stack: &Stack, record: &ReceivedRecord) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", stack.broker.bootstrap_servers())
        .create()
        .unwrap();
    let headers = record
        .headers
        .iter()
        .fold(OwnedHeaders::new(), |h, (k, v)| {
            h.insert(Header {
                key: k,
                value: Some(v.as_bytes()),
            })
        });
    let topic = stack.topic(&record.topic);
    let mut copy = FutureRecord::to(&topic)
        .payload(&record.payload)
        .headers(headers);
    if let Some(key) = &record.key {
        copy = copy.key(key);
    }
    producer.send(copy, Duration::from_secs(10)).await.unwrap();
}

fn events_of<'a>(events: &'a [ReceivedRecord], order: &str, kind: &str) -> Vec<&'a ReceivedRecord> {
    events
        .iter()
        .filter(|e| e.key.as_deref() == Some(order) && e.header("message-type") == Some(kind))
        .collect()
}

#[tokio::test]
async fn a_reply_delivered_twice_is_applied_once() {
    let mut system = System::start().await;
    let consumer = system.create_consumer("Edsger").await;
    let restaurant = system.create_restaurant(&[("idli", 400)]).await;
    let order = system
        .place_order(consumer, restaurant, &[("idli", 2)])
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(60))
        .await;
    let order_service = system.stack.service("order-service", 0).http_address();

    let mut replies = system
        .stack
        .topic_reader(&["order-service.replies"])
        .unwrap();
    let reply = replies
        .read_until(Duration::from_secs(30), |r| {
            r.iter().any(|m| {
                m.key.as_deref() == Some(id.as_str())
                    && m.header("message-type") == Some("ConsumerValidated")
            })
        })
        .iter()
        .find(|m| {
            m.key.as_deref() == Some(id.as_str())
                && m.header("message-type") == Some("ConsumerValidated")
        })
        .cloned()
        .expect("the original reply");
    let duplicates = |addr| {
        metric(
            addr,
            "ftgo_consumer_messages_total",
            &[("subscriber", "order-service"), ("outcome", "duplicate")],
        )
    };
    let before = duplicates(order_service).await;
    reproduce(&system.stack, &reply).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while duplicates(order_service).await < before + 1.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the copy was never consumed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut events = system.stack.topic_reader(&["order.events"]).unwrap();
    events.read_until(Duration::from_secs(10), |r| {
        !events_of(r, &id, "OrderValidated").is_empty()
    });
    // Read to the end: a second OrderValidated would come after the first.
    let events = events
        .read_to_end(Duration::from_secs(30))
        .unwrap()
        .to_vec();
    assert_eq!(
        events_of(&events, &id, "OrderValidated").len(),
        1,
        "applied once"
    );
}

#[tokio::test]
async fn two_order_service_instances_handle_every_reply_exactly_once() {
    let mut system = System::start().await;
    let consumer_url = system.url("consumer-service");
    system
        .stack
        .start_service(
            "order-service",
            &[
                ("FTGO_CONSUMER_SERVICE__BASE_URL", consumer_url.as_str()),
                ("FTGO_ORDERS__VALIDATION_DEADLINE_MS", "120000"),
            ],
        )
        .await
        .unwrap()
        .wait_ready(Duration::from_secs(60))
        .await
        .unwrap();
    let consumer = system.create_consumer("Barbara").await;
    let restaurant = system.create_restaurant(&[("vada", 150)]).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        let order = system
            .place_order(consumer, restaurant, &[("vada", 1)])
            .await;
        ids.push(order["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        system
            .wait_for_state(id, "VALIDATED", Duration::from_secs(90))
            .await;
    }
    let a = system.stack.service("order-service", 0).http_address();
    let b = system.stack.service("order-service", 1).http_address();
    let handled = |addr| {
        metric(
            addr,
            "ftgo_consumer_messages_total",
            &[("subscriber", "order-service"), ("outcome", "handled")],
        )
    };
    let (handled_a, handled_b) = (handled(a).await, handled(b).await);
    assert_eq!(
        handled_a + handled_b,
        24.0,
        "two replies per order, each handled once: {handled_a} + {handled_b}"
    );

    let mut events = system.stack.topic_reader(&["order.events"]).unwrap();
    events.read_until(Duration::from_secs(30), |r| {
        ids.iter()
            .all(|id| !events_of(r, id, "OrderValidated").is_empty())
    });
    let events = events
        .read_to_end(Duration::from_secs(30))
        .unwrap()
        .to_vec();
    for id in &ids {
        assert_eq!(
            events_of(&events, id, "OrderValidated").len(),
            1,
            "order {id}"
        );
    }
}

#[tokio::test]
async fn a_poison_reply_is_dead_lettered_with_its_reason_and_later_orders_still_flow() {
    let mut system = System::start().await;
    let poison = ReceivedRecord {
        topic: "order-service.replies".into(),
        partition: 0,
        offset: 0,
        key: Some("poison".into()),
        payload: b"{ not json".to_vec(),
        headers: [
            ("message-id", uuid::Uuid::now_v7().to_string()),
            ("message-type", "ConsumerValidated".to_owned()),
            ("schema-version", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        timestamp: None,
    };
    reproduce(&system.stack, &poison).await;
    let unknown = ReceivedRecord {
        key: Some("unknown-type".into()),
        headers: [
            ("message-id", uuid::Uuid::now_v7().to_string()),
            ("message-type", "SomethingElse".to_owned()),
            ("schema-version", "1".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
        ..poison.clone()
    };
    reproduce(&system.stack, &unknown).await;

    let consumer = system.create_consumer("Frances").await;
    let restaurant = system.create_restaurant(&[("dosa", 700)]).await;
    let order = system
        .place_order(consumer, restaurant, &[("dosa", 1)])
        .await;
    system
        .wait_for_state(
            order["id"].as_str().unwrap(),
            "VALIDATED",
            Duration::from_secs(60),
        )
        .await;

    let mut letters = system.stack.topic_reader(&[DEAD_LETTER_TOPIC]).unwrap();
    let letters = letters
        .read_until(Duration::from_secs(30), |r| r.len() >= 2)
        .to_vec();
    let reason = |key: &str| {
        letters
            .iter()
            .find(|l| l.key.as_deref() == Some(key))
            .and_then(|l| l.header("dead-letter-reason"))
            .unwrap_or_else(|| panic!("no dead letter for {key}: {letters:#?}"))
            .to_owned()
    };
    assert!(
        reason("poison").contains("payload invalid"),
        "{}",
        reason("poison")
    );
    assert!(
        reason("unknown-type").contains("unknown message type SomethingElse"),
        "{}",
        reason("unknown-type")
    );
}
