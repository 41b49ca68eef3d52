//! Fuzzing of message decoding: whatever bytes and headers arrive, decoding the envelope
//! and every contract's payload never panics and never asks for a retry; it yields the
//! message or a poison error (which the consumer loop dead-letters with its reason).

use proptest::prelude::*;
use rdkafka::Timestamp;
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use uuid::Uuid;

use super::*;
use crate::contracts::{self, LineItem, MenuItem, consumer, order, restaurant};

/// Each contract's decoder as the services call it (`message.json::<T>()`).
type Decoder = fn(&IncomingMessage) -> Result<(), HandlingError>;

fn decoders() -> [(&'static str, Decoder); 8] {
    [
        ("ValidateConsumerInfo", |m| {
            m.json::<consumer::ValidateConsumerInfo>().map(drop)
        }),
        ("ConsumerValidation", |m| {
            m.json::<consumer::ConsumerValidation>().map(drop)
        }),
        ("ValidateOrderDetails", |m| {
            m.json::<restaurant::ValidateOrderDetails>().map(drop)
        }),
        ("OrderDetailsValidation", |m| {
            m.json::<restaurant::OrderDetailsValidation>().map(drop)
        }),
        ("RestaurantCreated", |m| {
            m.json::<restaurant::RestaurantCreated>().map(drop)
        }),
        ("MenuRevised", |m| {
            m.json::<restaurant::MenuRevised>().map(drop)
        }),
        ("OrderCreated", |m| {
            m.json::<order::OrderCreated>().map(drop)
        }),
        ("OrderStateChanged", |m| {
            m.json::<order::OrderStateChanged>().map(drop)
        }),
    ]
}

fn kafka_message(
    headers: &[(String, Option<Vec<u8>>)],
    key: Option<Vec<u8>>,
    payload: Option<Vec<u8>>,
) -> OwnedMessage {
    let headers = headers.iter().fold(OwnedHeaders::new(), |all, (k, v)| {
        all.insert(Header {
            key: k.as_str(),
            value: v.as_deref(),
        })
    });
    OwnedMessage::new(
        payload,
        key,
        "fuzzed".into(),
        Timestamp::NotAvailable,
        0,
        0,
        Some(headers),
    )
}

/// Header names the envelope reads, plus any others.
fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(headers::MESSAGE_ID.to_owned()),
        Just(headers::MESSAGE_TYPE.to_owned()),
        Just(headers::SCHEMA_VERSION.to_owned()),
        Just(contracts::REPLY_TO.to_owned()),
        any::<String>(),
    ]
}

fn header_value() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        any::<Vec<u8>>().prop_map(Some),
        Just(Some(Uuid::now_v7().to_string().into_bytes())),
        Just(Some(b"1".to_vec())),
        Just(Some(b"-2147483649".to_vec())),
    ]
}

/// A valid envelope carrying `payload`.
fn valid(payload: Vec<u8>) -> IncomingMessage {
    let headers = vec![
        (
            headers::MESSAGE_ID.to_owned(),
            Some(Uuid::now_v7().to_string().into_bytes()),
        ),
        (headers::MESSAGE_TYPE.to_owned(), Some(b"Any".to_vec())),
        (headers::SCHEMA_VERSION.to_owned(), Some(b"1".to_vec())),
    ];
    IncomingMessage::from_kafka(&kafka_message(&headers, None, Some(payload))).unwrap()
}

fn assert_decoders_never_panic_or_retry(message: &IncomingMessage) {
    for (name, decode) in decoders() {
        if let Err(HandlingError::Retry(reason)) = decode(message) {
            panic!("{name}: undecodable payload asked for a retry: {reason}");
        }
    }
}

/// Valid payloads of every contract, as JSON: the starting points of mutation.
fn valid_payloads(id: Uuid, text: String, cents: i64, quantity: u32) -> Vec<Vec<u8>> {
    let line = LineItem {
        menu_item_id: text.clone(),
        quantity,
    };
    let item = MenuItem {
        id: text.clone(),
        name: text.clone(),
        price_cents: cents,
    };
    let json = |v: serde_json::Result<Vec<u8>>| v.unwrap();
    vec![
        json(serde_json::to_vec(&consumer::ValidateConsumerInfo {
            order_id: id,
            consumer_id: id,
            order_total_cents: cents,
        })),
        json(serde_json::to_vec(&restaurant::ValidateOrderDetails {
            order_id: id,
            restaurant_id: id,
            line_items: vec![line.clone()],
        })),
        json(serde_json::to_vec(&restaurant::RestaurantCreated {
            restaurant_id: id,
            name: text.clone(),
            delivers: true,
            menu: vec![item],
        })),
        json(serde_json::to_vec(&order::OrderCreated {
            order_id: id,
            consumer_id: id,
            restaurant_id: id,
            line_items: vec![line],
            total_cents: cents,
        })),
        json(serde_json::to_vec(&order::OrderStateChanged {
            order_id: id,
            reason: Some(text),
        })),
    ]
}

/// Cases per property: 2000 in the test command, `PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// Any headers, key and payload: the envelope decodes or is poison, and so is every
    /// payload decoder's answer on what decodes.
    #[test]
    fn any_headers_key_and_payload_decode_or_are_poison(
        headers in proptest::collection::vec((header_name(), header_value()), 0..8),
        key in proptest::option::of(any::<Vec<u8>>()),
        payload in proptest::option::of(any::<Vec<u8>>()),
    ) {
        let raw = kafka_message(&headers, key, payload);
        match IncomingMessage::from_kafka(&raw) {
            Ok(message) => {
                assert_decoders_never_panic_or_retry(&message);
                let _ = contracts::reply(&message, Uuid::now_v7(), "Reply", &1);
            }
            Err(HandlingError::Poison(_)) => {}
            Err(other) => panic!("envelope asked for a retry: {other}"),
        }
    }

    /// Arbitrary bytes as the payload of a valid envelope.
    #[test]
    fn arbitrary_payload_bytes_are_poison_or_decoded(payload in any::<Vec<u8>>()) {
        assert_decoders_never_panic_or_retry(&valid(payload));
    }

    /// Valid payloads cut short, with a byte changed, or with bytes inserted: the decoders
    /// reach deep into the structure and still only decode or refuse.
    #[test]
    fn mutated_valid_payloads_are_poison_or_decoded(
        text in any::<String>(),
        cents in any::<i64>(),
        quantity in any::<u32>(),
        which in 0usize..5,
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
        insert in any::<(prop::sample::Index, Vec<u8>)>(),
    ) {
        let payload = valid_payloads(Uuid::now_v7(), text, cents, quantity).swap_remove(which);
        assert_decoders_never_panic_or_retry(&valid(payload.clone()));
        assert_decoders_never_panic_or_retry(&valid(payload[..cut.index(payload.len())].to_vec()));
        let mut flipped = payload.clone();
        let at = flip.0.index(flipped.len());
        flipped[at] = flip.1;
        assert_decoders_never_panic_or_retry(&valid(flipped));
        let mut inserted = payload;
        let at = insert.0.index(inserted.len());
        inserted.splice(at..at, insert.1);
        assert_decoders_never_panic_or_retry(&valid(inserted));
    }
}

#[test]
fn a_valid_payload_decodes_and_a_wrong_one_is_poison_naming_the_field() {
    let id = Uuid::now_v7();
    let payloads = valid_payloads(id, "samosa".into(), 250, 2);
    let message = valid(payloads[0].clone());
    let command = message.json::<consumer::ValidateConsumerInfo>().unwrap();
    assert_eq!((command.order_id, command.order_total_cents), (id, 250));
    let wrong = valid(br#"{"order_id": "x"}"#.to_vec());
    let Err(HandlingError::Poison(reason)) = wrong.json::<consumer::ValidateConsumerInfo>() else {
        panic!("a wrong payload must be poison");
    };
    assert!(reason.contains("order_id"), "{reason}");
}

#[test]
fn a_missing_or_malformed_envelope_header_is_poison() {
    let id = Uuid::now_v7().to_string().into_bytes();
    let header = |k: &str, v: &[u8]| (k.to_owned(), Some(v.to_vec()));
    let cases = [
        vec![
            header(headers::MESSAGE_TYPE, b"T"),
            header(headers::SCHEMA_VERSION, b"1"),
        ],
        vec![
            header(headers::MESSAGE_ID, b"not-a-uuid"),
            header(headers::MESSAGE_TYPE, b"T"),
            header(headers::SCHEMA_VERSION, b"1"),
        ],
        vec![
            header(headers::MESSAGE_ID, &id),
            header(headers::MESSAGE_TYPE, b"T"),
            header(headers::SCHEMA_VERSION, b"one"),
        ],
    ];
    for headers in cases {
        let raw = kafka_message(&headers, None, None);
        assert!(matches!(
            IncomingMessage::from_kafka(&raw),
            Err(HandlingError::Poison(_))
        ));
    }
}
