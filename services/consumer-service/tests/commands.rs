//! The `ValidateConsumerInfo` command through the real broker and relay: replies,
//! idempotence, dead letters.

use contracts::consumer::{
    COMMANDS, CONSUMER_REJECTED, CONSUMER_VALIDATED, ConsumerValidation, VALIDATE_CONSUMER_INFO,
    ValidateConsumerInfo,
};
use contracts::{Contract, Format};
use outbox::headers;
use serde_json::json;
use uuid::Uuid;

use crate::support::{self, Command, replies};

/// Registers a consumer through the API; returns its id.
async fn register(url: &str, order_limit_cents: i64) -> Uuid {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/v1/consumers"))
        .json(&json!({ "name": "Carol", "order_limit_cents": order_limit_cents }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

pub fn validate(consumer_id: Uuid, order_total_cents: i64) -> (Uuid, Command) {
    let order_id = Uuid::now_v7();
    let command = Command::json(
        VALIDATE_CONSUMER_INFO,
        consumer_id,
        &ValidateConsumerInfo {
            order_id,
            consumer_id,
            order_total_cents,
        },
    );
    (order_id, command)
}

fn payload(record: &ftgo_harness::kafka::ReceivedRecord) -> ConsumerValidation {
    serde_json::from_slice(&record.payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validate_consumer_info_is_answered_on_the_reply_channel() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let consumer = register(url, 5_000).await;
    let stranger = Uuid::now_v7();
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let (within_limit, command) = validate(consumer, 5_000);
    command
        .with_header(headers::TRACEPARENT, trace)
        .send(&stack, COMMANDS)
        .await;
    let (unknown, command) = validate(stranger, 100);
    command.send(&stack, COMMANDS).await;
    let (too_much, command) = validate(consumer, 5_001);
    command.send(&stack, COMMANDS).await;

    let replies = replies(&stack, &[within_limit, unknown, too_much]);
    let [validated, not_found, over_limit] = [&replies[0], &replies[1], &replies[2]];
    assert_eq!(validated.len(), 1, "{validated:?}");
    let validated = &validated[0];
    assert_eq!(
        validated.header(headers::MESSAGE_TYPE),
        Some(CONSUMER_VALIDATED)
    );
    assert_eq!(validated.header(headers::SCHEMA_VERSION), Some("1"));
    assert_eq!(
        validated.key.as_deref(),
        Some(within_limit.to_string().as_str())
    );
    assert_eq!(
        validated.header(headers::TRACEPARENT),
        Some(trace),
        "trace propagated"
    );
    assert_eq!(
        payload(validated),
        ConsumerValidation {
            order_id: within_limit,
            consumer_id: consumer,
            reason: None
        }
    );

    assert_eq!(
        not_found[0].header(headers::MESSAGE_TYPE),
        Some(CONSUMER_REJECTED)
    );
    assert_eq!(
        payload(&not_found[0]).reason,
        Some(format!("consumer {stranger} not found"))
    );
    assert_eq!(
        over_limit[0].header(headers::MESSAGE_TYPE),
        Some(CONSUMER_REJECTED)
    );
    let reason = payload(&over_limit[0]).reason.unwrap();
    assert!(reason.starts_with("order total exceeds limit"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivered_command_is_answered_once() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let consumer = register(url, 5_000).await;
    let (order_id, command) = validate(consumer, 100);
    command.send(&stack, COMMANDS).await;
    command.send(&stack, COMMANDS).await;
    support::await_duplicate(url).await;

    // A later command about the same order (same key, so the same reply partition, after
    // the first reply): once its reply is read, any second reply to the duplicate would
    // have been read too.
    let stranger = Uuid::now_v7();
    let sentinel = Command::json(
        VALIDATE_CONSUMER_INFO,
        stranger,
        &ValidateConsumerInfo {
            order_id,
            consumer_id: stranger,
            order_total_cents: 100,
        },
    );
    sentinel.send(&stack, COMMANDS).await;
    support::assert_answered_once(
        &stack,
        url,
        order_id,
        [CONSUMER_VALIDATED, CONSUMER_REJECTED],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_messages_are_dead_lettered_and_later_commands_answered() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let consumer = register(url, 5_000).await;

    let unknown_type = Command::json("ChargeConsumer", consumer, &json!({}));
    let bad_payload = Command::json(
        VALIDATE_CONSUMER_INFO,
        consumer,
        &json!({ "order_id": "not-a-uuid", "consumer_id": consumer, "order_total_cents": 1 }),
    );
    let not_json = Command::raw(VALIDATE_CONSUMER_INFO, consumer, b"{oops".to_vec());
    let (_, hijack) = validate(consumer, 1);
    let hijack = hijack.with_header(headers::REPLY_TO, "restaurant.events");
    for poison in [&unknown_type, &bad_payload, &not_json, &hijack] {
        poison.send(&stack, COMMANDS).await;
    }
    let (order_id, valid) = validate(consumer, 1);
    valid.send(&stack, COMMANDS).await;

    support::assert_dead_lettered(
        &stack,
        COMMANDS,
        &[
            (&unknown_type, "unknown message type ChargeConsumer"),
            (&bad_payload, "`order_id`"),
            (&not_json, "payload invalid"),
            (&hijack, "not a reply channel"),
        ],
    );
    support::assert_one_reply(&stack, order_id, CONSUMER_VALIDATED);
}

/// One consumer, producers in both formats: a JSON command (with the header or from
/// before it existed) and a Protobuf one are both answered; a content type the service
/// does not know is dead-lettered with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_and_protobuf_commands_are_answered_and_an_unknown_content_type_is_dead_lettered() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let consumer = register(url, 5_000).await;

    let (as_json, json_command) = validate(consumer, 100);
    let (without_header, old_command) = validate(consumer, 100);
    let old_command = Command {
        headers: old_command
            .headers
            .into_iter()
            .filter(|(name, _)| name != headers::CONTENT_TYPE)
            .collect(),
        ..old_command
    };
    let as_protobuf = Uuid::now_v7();
    let protobuf_command = Command::raw(
        VALIDATE_CONSUMER_INFO,
        consumer,
        ValidateConsumerInfo {
            order_id: as_protobuf,
            consumer_id: consumer,
            order_total_cents: 100,
        }
        .encode(Format::Protobuf)
        .unwrap(),
    )
    .with_header(headers::CONTENT_TYPE, Format::Protobuf.content_type());
    let (_, unknown) = validate(consumer, 100);
    let unknown = unknown.with_header(headers::CONTENT_TYPE, "application/avro");
    for command in [&json_command, &old_command, &protobuf_command, &unknown] {
        command.send(&stack, COMMANDS).await;
    }

    let replies = replies(&stack, &[as_json, without_header, as_protobuf]);
    for reply in &replies {
        assert_eq!(reply.len(), 1, "{reply:?}");
        assert_eq!(
            reply[0].header(headers::MESSAGE_TYPE),
            Some(CONSUMER_VALIDATED)
        );
    }
    support::assert_dead_lettered(
        &stack,
        COMMANDS,
        &[(&unknown, "unknown content-type `application/avro`")],
    );
}

/// A command whose handling fails the same way on every try (here the outbox refuses its
/// reply: a check violation, SQLSTATE 23514) must not block its partition for good: after
/// a few tries it is dead-lettered with the reason, and the next command of the same key
/// (so of the same partition) is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_that_always_fails_the_same_way_is_dead_lettered_and_the_partition_moves_on() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let consumer = register(url, 5_000).await;
    let (doomed_order, doomed) = validate(consumer, 1);
    stack
        .database("consumer_service")
        .connect()
        .await
        .unwrap()
        .batch_execute(&format!(
            "ALTER TABLE outbox ADD CONSTRAINT refuses_one_reply \
             CHECK (message_key <> '{doomed_order}')"
        ))
        .await
        .unwrap();
    doomed.send(&stack, COMMANDS).await;
    let (order_id, valid) = validate(consumer, 1);
    valid.send(&stack, COMMANDS).await;

    support::assert_dead_lettered(&stack, COMMANDS, &[(&doomed, "23514")]);
    support::assert_one_reply(&stack, order_id, CONSUMER_VALIDATED);
}
