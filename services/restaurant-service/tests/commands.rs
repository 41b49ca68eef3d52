//! The `ValidateOrderDetails` command through the real broker and relay: replies with
//! reasons, idempotence, dead letters.

use contracts::LineItem;
use contracts::restaurant::{
    COMMANDS, ORDER_DETAILS_REJECTED, ORDER_DETAILS_VALIDATED, OrderDetailsValidation,
    VALIDATE_ORDER_DETAILS, ValidateOrderDetails,
};
use ftgo_harness::kafka::ReceivedRecord;
use outbox::headers;
use serde_json::json;
use uuid::Uuid;

use crate::api::menu;
use crate::support::{self, Command, replies};

/// Creates a restaurant (menu: `samosa`, `dal`) through the API; returns its id.
async fn create(url: &str, delivers: bool) -> Uuid {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/v1/restaurants"))
        .json(&json!({ "name": "Ajanta", "delivers": delivers, "menu": menu() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

pub fn line(id: &str, quantity: u32) -> LineItem {
    LineItem {
        menu_item_id: id.into(),
        quantity,
    }
}

pub fn validate(restaurant_id: Uuid, line_items: Vec<LineItem>) -> (Uuid, Command) {
    let order_id = Uuid::now_v7();
    let command = Command::json(
        VALIDATE_ORDER_DETAILS,
        restaurant_id,
        &ValidateOrderDetails {
            order_id,
            restaurant_id,
            line_items,
        },
    );
    (order_id, command)
}

fn payload(record: &ReceivedRecord) -> OrderDetailsValidation {
    serde_json::from_slice(&record.payload).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validate_order_details_is_answered_with_the_reason() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let open = create(url, true).await;
    let closed = create(url, false).await;
    let nowhere = Uuid::now_v7();
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let (fine, command) = validate(open, vec![line("samosa", 2), line("dal", 1)]);
    command
        .with_header(headers::TRACEPARENT, trace)
        .send(&stack, COMMANDS)
        .await;
    let cases = [
        (
            nowhere,
            vec![line("samosa", 1)],
            format!("restaurant {nowhere} not found"),
        ),
        (
            closed,
            vec![line("samosa", 1)],
            format!("restaurant {closed} does not deliver"),
        ),
        (
            open,
            vec![line("samosa", 1), line("pizza", 1)],
            "menu item pizza not on the menu".into(),
        ),
        (
            open,
            vec![line("dal", 0)],
            "menu item dal has quantity 0".into(),
        ),
    ];
    let mut rejected = Vec::new();
    for (restaurant, lines, reason) in cases {
        let (order_id, command) = validate(restaurant, lines);
        command.send(&stack, COMMANDS).await;
        rejected.push((order_id, restaurant, reason));
    }

    let mut orders = vec![fine];
    orders.extend(rejected.iter().map(|(order_id, _, _)| *order_id));
    let replies = replies(&stack, &orders);

    assert_eq!(replies[0].len(), 1, "{:?}", replies[0]);
    let validated = &replies[0][0];
    assert_eq!(
        validated.header(headers::MESSAGE_TYPE),
        Some(ORDER_DETAILS_VALIDATED)
    );
    assert_eq!(validated.key.as_deref(), Some(fine.to_string().as_str()));
    assert_eq!(
        validated.header(headers::TRACEPARENT),
        Some(trace),
        "trace propagated"
    );
    assert_eq!(
        payload(validated),
        OrderDetailsValidation {
            order_id: fine,
            restaurant_id: open,
            reason: None
        }
    );
    for ((order_id, restaurant, reason), replies) in rejected.iter().zip(&replies[1..]) {
        assert_eq!(replies.len(), 1, "{replies:?}");
        assert_eq!(
            replies[0].header(headers::MESSAGE_TYPE),
            Some(ORDER_DETAILS_REJECTED)
        );
        assert_eq!(
            replies[0].key.as_deref(),
            Some(order_id.to_string().as_str())
        );
        assert_eq!(
            payload(&replies[0]),
            OrderDetailsValidation {
                order_id: *order_id,
                restaurant_id: *restaurant,
                reason: Some(reason.clone())
            }
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redelivered_command_is_answered_once() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let open = create(url, true).await;
    let (order_id, command) = validate(open, vec![line("dal", 1)]);
    command.send(&stack, COMMANDS).await;
    command.send(&stack, COMMANDS).await;
    support::await_duplicate(url).await;

    // A later command about the same order (same reply key, so the same partition, after
    // the first reply): once its reply is read, a second reply to the duplicate would
    // have been read too.
    let sentinel = Command::json(
        VALIDATE_ORDER_DETAILS,
        open,
        &ValidateOrderDetails {
            order_id,
            restaurant_id: open,
            line_items: vec![line("pizza", 1)],
        },
    );
    sentinel.send(&stack, COMMANDS).await;
    support::assert_answered_once(
        &stack,
        url,
        order_id,
        [ORDER_DETAILS_VALIDATED, ORDER_DETAILS_REJECTED],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_messages_are_dead_lettered_and_later_commands_answered() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let open = create(url, true).await;

    let unknown_type = Command::json("CloseRestaurant", open, &json!({}));
    let bad_payload = Command::json(
        VALIDATE_ORDER_DETAILS,
        open,
        &json!({ "order_id": Uuid::now_v7(), "restaurant_id": open,
                 "line_items": [{ "menu_item_id": "dal", "quantity": -1 }] }),
    );
    let (_, hijack) = validate(open, vec![line("dal", 1)]);
    let hijack = hijack.with_header(headers::REPLY_TO, "restaurant.events");
    for command in [&unknown_type, &bad_payload, &hijack] {
        command.send(&stack, COMMANDS).await;
    }
    let (order_id, valid) = validate(open, vec![line("dal", 1)]);
    valid.send(&stack, COMMANDS).await;

    support::assert_dead_lettered(
        &stack,
        COMMANDS,
        &[
            (&unknown_type, "unknown message type CloseRestaurant"),
            (&bad_payload, "`line_items[0].quantity`"),
            (&hijack, "not a reply channel"),
        ],
    );
    support::assert_one_reply(&stack, order_id, ORDER_DETAILS_VALIDATED);
}
