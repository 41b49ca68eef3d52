//! Orders end to end with every channel in Protobuf: each service writes its messages as
//! `application/x-protobuf`, the others decode them by that header, and the order flow
//! ends exactly as it does in JSON.

use std::time::Duration;

use contracts::Format;
use contracts::{Contract, consumer, order, restaurant};
use ftgo_harness::kafka::ReceivedRecord;
use outbox::headers::{CONTENT_TYPE, MESSAGE_TYPE};

use crate::support::System;

/// Every channel of the order flow, in every service that writes to one.
fn all_protobuf() -> Vec<(&'static str, &'static str, &'static str)> {
    ["order-service", "consumer-service", "restaurant-service"]
        .into_iter()
        .map(|b| (b, "FTGO_MESSAGING__DEFAULT_FORMAT", "protobuf"))
        .collect()
}

/// Decodes `record`'s payload as the Protobuf message of its type.
fn decode_protobuf(record: &ReceivedRecord) -> Result<(), String> {
    fn check<T: Contract>(payload: &[u8]) -> Result<(), String> {
        T::decode(Format::Protobuf, payload).map(drop)
    }
    let payload = &record.payload;
    match record.header(MESSAGE_TYPE).unwrap_or_default() {
        order::ORDER_CREATED => check::<order::OrderCreated>(payload),
        order::ORDER_VALIDATED | order::ORDER_REJECTED | order::ORDER_CANCELLED => {
            check::<order::OrderStateChanged>(payload)
        }
        consumer::VALIDATE_CONSUMER_INFO => check::<consumer::ValidateConsumerInfo>(payload),
        consumer::CONSUMER_VALIDATED | consumer::CONSUMER_REJECTED => {
            check::<consumer::ConsumerValidation>(payload)
        }
        restaurant::VALIDATE_ORDER_DETAILS => check::<restaurant::ValidateOrderDetails>(payload),
        restaurant::ORDER_DETAILS_VALIDATED | restaurant::ORDER_DETAILS_REJECTED => {
            check::<restaurant::OrderDetailsValidation>(payload)
        }
        restaurant::RESTAURANT_CREATED => check::<restaurant::RestaurantCreated>(payload),
        restaurant::MENU_REVISED => check::<restaurant::MenuRevised>(payload),
        other => Err(format!("unexpected message type {other}")),
    }
}

#[tokio::test]
async fn orders_are_validated_and_rejected_with_every_channel_in_protobuf() {
    let mut system = System::start_with(&all_protobuf()).await;
    let consumer = system.create_consumer("Barbara").await;
    let restaurant = system
        .create_restaurant(&[("samosa", 250), ("curry", 1_200)])
        .await;

    // The replica was built from a Protobuf RestaurantCreated: it prices the order.
    let good = system
        .place_order(consumer, restaurant, &[("samosa", 2), ("curry", 1)])
        .await;
    let good = good["id"].as_str().unwrap().to_owned();
    let validated = system
        .wait_for_state(&good, "VALIDATED", Duration::from_secs(60))
        .await;
    assert_eq!(validated["total_cents"], 1_700, "{validated}");

    let stranger = uuid::Uuid::now_v7();
    let bad = system
        .place_order(stranger, restaurant, &[("samosa", 1)])
        .await;
    let bad = bad["id"].as_str().unwrap().to_owned();
    let rejected = system
        .wait_for_state(&bad, "REJECTED", Duration::from_secs(60))
        .await;
    let reason = rejected["rejection_reason"].as_str().unwrap();
    assert!(reason.contains(&stranger.to_string()), "{reason}");

    // Every message of the flow, on every channel, is Protobuf and decodes as such.
    let topics = [
        order::EVENTS,
        order::REPLIES,
        consumer::COMMANDS,
        restaurant::COMMANDS,
        restaurant::EVENTS,
    ];
    let mut reader = system.stack.topic_reader(&topics).unwrap();
    let types_seen = |records: &[ReceivedRecord], wanted: &[&str]| {
        wanted
            .iter()
            .all(|t| records.iter().any(|r| r.header(MESSAGE_TYPE) == Some(t)))
    };
    let every_type = [
        order::ORDER_CREATED,
        order::ORDER_VALIDATED,
        order::ORDER_REJECTED,
        consumer::VALIDATE_CONSUMER_INFO,
        consumer::CONSUMER_VALIDATED,
        consumer::CONSUMER_REJECTED,
        restaurant::VALIDATE_ORDER_DETAILS,
        restaurant::ORDER_DETAILS_VALIDATED,
        restaurant::RESTAURANT_CREATED,
    ];
    let records = reader
        .read_until(Duration::from_secs(60), |r| types_seen(r, &every_type))
        .to_vec();
    assert!(
        types_seen(&records, &every_type),
        "not every message type was read: {records:?}"
    );
    for record in &records {
        assert_eq!(
            record.header(CONTENT_TYPE),
            Some(Format::Protobuf.content_type()),
            "{record:?}"
        );
        decode_protobuf(record).unwrap_or_else(|e| panic!("{e}: {record:?}"));
    }
    let created = records
        .iter()
        .find(|r| {
            r.key.as_deref() == Some(good.as_str())
                && r.header(MESSAGE_TYPE) == Some(order::ORDER_CREATED)
        })
        .expect("OrderCreated of the validated order");
    let created = order::OrderCreated::decode(Format::Protobuf, &created.payload).unwrap();
    assert_eq!(created.total_cents, 1_700);
    assert_eq!(created.line_items.len(), 2);
}
