//! Fuzzing of message decoding: whatever bytes and headers arrive, decoding the envelope
//! and every contract's payload (as JSON and as Protobuf) never panics and never asks for
//! a retry; it yields the message or a poison error (which the consumer loop dead-letters
//! with its reason).

use proptest::prelude::*;
use rdkafka::Timestamp;
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};
use uuid::Uuid;

use super::*;
use contracts::{Contract, Format, LineItem, MenuItem, consumer, order, restaurant};

/// Each contract's decoder as the services call it (`message.decode::<T>()`).
type Decoder = fn(&IncomingMessage) -> Result<(), HandlingError>;

fn decoders() -> [(&'static str, Decoder); 8] {
    [
        ("ValidateConsumerInfo", |m| {
            m.decode::<consumer::ValidateConsumerInfo>().map(drop)
        }),
        ("ConsumerValidation", |m| {
            m.decode::<consumer::ConsumerValidation>().map(drop)
        }),
        ("ValidateOrderDetails", |m| {
            m.decode::<restaurant::ValidateOrderDetails>().map(drop)
        }),
        ("OrderDetailsValidation", |m| {
            m.decode::<restaurant::OrderDetailsValidation>().map(drop)
        }),
        ("RestaurantCreated", |m| {
            m.decode::<restaurant::RestaurantCreated>().map(drop)
        }),
        ("MenuRevised", |m| {
            m.decode::<restaurant::MenuRevised>().map(drop)
        }),
        ("OrderCreated", |m| {
            m.decode::<order::OrderCreated>().map(drop)
        }),
        ("OrderStateChanged", |m| {
            m.decode::<order::OrderStateChanged>().map(drop)
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
        Just(headers::REPLY_TO.to_owned()),
        Just(headers::CONTENT_TYPE.to_owned()),
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
        Just(Some(Format::Protobuf.content_type().as_bytes().to_vec())),
    ]
}

/// A valid envelope carrying `payload` as JSON (no `content-type`, as before the header
/// existed).
fn valid(payload: Vec<u8>) -> IncomingMessage {
    envelope(None, payload)
}

/// A valid envelope carrying `payload` with the `content-type` of `format`.
fn valid_in(format: Format, payload: Vec<u8>) -> IncomingMessage {
    envelope(Some(format.content_type()), payload)
}

fn envelope(content_type: Option<&str>, payload: Vec<u8>) -> IncomingMessage {
    let mut headers = vec![
        (
            headers::MESSAGE_ID.to_owned(),
            Some(Uuid::now_v7().to_string().into_bytes()),
        ),
        (headers::MESSAGE_TYPE.to_owned(), Some(b"Any".to_vec())),
        (headers::SCHEMA_VERSION.to_owned(), Some(b"1".to_vec())),
    ];
    if let Some(content_type) = content_type {
        headers.push((
            headers::CONTENT_TYPE.to_owned(),
            Some(content_type.as_bytes().to_vec()),
        ));
    }
    IncomingMessage::from_kafka(&kafka_message(&headers, None, Some(payload))).unwrap()
}

fn assert_decoders_never_panic_or_retry(message: &IncomingMessage) {
    for (name, decode) in decoders() {
        if let Err(HandlingError::Retry(reason)) = decode(message) {
            panic!("{name}: undecodable payload asked for a retry: {reason}");
        }
    }
}

/// Valid payloads of every contract in `format`: the starting points of mutation.
fn valid_payloads(
    format: Format,
    id: Uuid,
    text: String,
    cents: i64,
    quantity: u32,
) -> Vec<Vec<u8>> {
    let line = LineItem {
        menu_item_id: text.clone(),
        quantity,
    };
    let item = MenuItem {
        id: text.clone(),
        name: text.clone(),
        price_cents: cents,
    };
    vec![
        consumer::ValidateConsumerInfo {
            order_id: id,
            consumer_id: id,
            order_total_cents: cents,
        }
        .encode(format)
        .unwrap(),
        restaurant::ValidateOrderDetails {
            order_id: id,
            restaurant_id: id,
            line_items: vec![line.clone()],
        }
        .encode(format)
        .unwrap(),
        restaurant::RestaurantCreated {
            restaurant_id: id,
            name: text.clone(),
            delivers: true,
            menu: vec![item],
        }
        .encode(format)
        .unwrap(),
        order::OrderCreated {
            order_id: id,
            consumer_id: id,
            restaurant_id: id,
            line_items: vec![line],
            total_cents: cents,
        }
        .encode(format)
        .unwrap(),
        order::OrderStateChanged {
            order_id: id,
            reason: Some(text),
        }
        .encode(format)
        .unwrap(),
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
                // Any reply-to header is a reply channel or poison, never a panic.
                let _ = crate::commands::reply_channel(&message);
            }
            Err(HandlingError::Poison(_)) => {}
            Err(other) => panic!("envelope asked for a retry: {other}"),
        }
    }

    /// Arbitrary bytes as the payload of a valid envelope, in either format.
    #[test]
    fn arbitrary_payload_bytes_are_poison_or_decoded(payload in any::<Vec<u8>>()) {
        assert_decoders_never_panic_or_retry(&valid(payload.clone()));
        assert_decoders_never_panic_or_retry(&valid_in(Format::Protobuf, payload));
    }

    /// Valid payloads cut short, with a byte changed, or with bytes inserted: the decoders
    /// reach deep into the structure and still only decode or refuse.
    #[test]
    fn mutated_valid_payloads_are_poison_or_decoded(
        text in any::<String>(),
        cents in any::<i64>(),
        quantity in any::<u32>(),
        which in 0usize..5,
        protobuf in any::<bool>(),
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
        insert in any::<(prop::sample::Index, Vec<u8>)>(),
    ) {
        let format = if protobuf { Format::Protobuf } else { Format::Json };
        let valid = |payload: Vec<u8>| valid_in(format, payload);
        let payload = valid_payloads(format, Uuid::now_v7(), text, cents, quantity).swap_remove(which);
        assert_decoders_never_panic_or_retry(&valid(payload.clone()));
        assert_decoders_never_panic_or_retry(&valid(payload[..cut.index(payload.len())].to_vec()));
        if !payload.is_empty() {
            let mut flipped = payload.clone();
            let at = flip.0.index(flipped.len());
            flipped[at] = flip.1;
            assert_decoders_never_panic_or_retry(&valid(flipped));
        }
        let mut inserted = payload;
        let at = insert.0.index(inserted.len());
        inserted.splice(at..at, insert.1);
        assert_decoders_never_panic_or_retry(&valid(inserted));
    }
}

#[test]
fn a_valid_payload_decodes_and_a_wrong_one_is_poison_naming_the_field() {
    let id = Uuid::now_v7();
    let payloads = valid_payloads(Format::Json, id, "samosa".into(), 250, 2);
    let message = valid(payloads[0].clone());
    let command = message.decode::<consumer::ValidateConsumerInfo>().unwrap();
    assert_eq!((command.order_id, command.order_total_cents), (id, 250));
    let wrong = valid(br#"{"order_id": "x"}"#.to_vec());
    let Err(HandlingError::Poison(reason)) = wrong.decode::<consumer::ValidateConsumerInfo>()
    else {
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

/// One consumer, two producers: a JSON one (with the header, or from before it existed)
/// and a Protobuf one. Both decode to the same contract value.
#[test]
fn the_same_consumer_accepts_json_and_protobuf_producers() {
    let command = consumer::ValidateConsumerInfo {
        order_id: Uuid::now_v7(),
        consumer_id: Uuid::now_v7(),
        order_total_cents: 1_250,
    };
    let messages = [
        valid(command.encode(Format::Json).unwrap()),
        valid_in(Format::Json, command.encode(Format::Json).unwrap()),
        valid_in(Format::Protobuf, command.encode(Format::Protobuf).unwrap()),
    ];
    for message in messages {
        assert_eq!(
            message.decode::<consumer::ValidateConsumerInfo>(),
            Ok(command.clone())
        );
    }
}

#[test]
fn an_unknown_content_type_or_the_wrong_format_is_poison_with_the_reason() {
    let state = order::OrderStateChanged {
        order_id: Uuid::now_v7(),
        reason: None,
    };
    let mut message = valid_in(Format::Json, state.encode(Format::Json).unwrap());
    message
        .headers
        .insert(headers::CONTENT_TYPE.into(), "application/xml".into());
    let Err(HandlingError::Poison(reason)) = message.decode::<order::OrderStateChanged>() else {
        panic!("an unknown content type must be poison");
    };
    assert!(reason.contains("application/xml"), "{reason}");
    let json_labelled_protobuf = valid_in(Format::Protobuf, state.encode(Format::Json).unwrap());
    assert!(matches!(
        json_labelled_protobuf.decode::<order::OrderStateChanged>(),
        Err(HandlingError::Poison(_))
    ));
}
