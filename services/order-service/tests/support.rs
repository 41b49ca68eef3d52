//! Set-up for order-service's tests; the shared machinery is `ftgo_test_support`.

use contracts::restaurant::{self, RestaurantCreated};
use contracts::{MenuItem, consumer};
use ftgo_harness::Stack;
use order_service::Settings;
use serde_json::{Value, json};
use uuid::Uuid;

pub use ftgo_test_support::*;

/// A stack and order-service serving against it, in this process. Nothing listens at
/// consumer-service's address (`?expand=consumer` answers degraded); a restaurant the
/// replica does not know is not waited for; `extra` adds settings.
pub async fn start(extra: &[(&str, &str)]) -> (Stack, TestApp) {
    let stack = Stack::start().await.unwrap();
    let mut settings = vec![
        ("FTGO_CONSUMER_SERVICE__BASE_URL", "http://127.0.0.1:9"),
        ("FTGO_ORDERS__REPLICA_WAIT_MS", "0"),
    ];
    settings.extend_from_slice(extra);
    let env = settings_env(&stack, "order_service", &settings);
    let settings: Settings = runtime::config::ConfigSource::from_env(env).load().unwrap();
    let app = TestApp::spawn(order_service::build(settings).await.unwrap());
    (stack, app)
}

/// A connection to order-service's database, as the service's role.
pub async fn database(stack: &Stack) -> tokio_postgres::Client {
    let (client, connection) = stack
        .database("order_service")
        .config()
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// The consumer every test order is placed for.
pub const CONSUMER: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

/// `POST /v1/orders` for [`CONSUMER`] of one line (`quantity` of menu item `a`), with
/// `key` as its Idempotency-Key when given.
pub async fn place(
    url: &str,
    restaurant_id: Uuid,
    quantity: u32,
    key: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{url}/v1/orders"))
        .json(&json!({
            "consumer_id": CONSUMER,
            "restaurant_id": restaurant_id,
            "line_items": [{ "menu_item_id": "a", "quantity": quantity }],
        }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

/// `POST {location}/cancel` (`location`: an order's path).
pub async fn cancel(url: &str, location: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{url}{location}/cancel"))
        .send()
        .await
        .unwrap()
}

/// Places an order; asserts 201 and returns its representation.
pub async fn placed(url: &str, restaurant_id: Uuid, quantity: u32) -> Value {
    let response = place(url, restaurant_id, quantity, None).await;
    assert_eq!(response.status(), 201, "{response:?}");
    response.json().await.unwrap()
}

/// `GET` of `path` under `url`: status and JSON body.
pub async fn get(url: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{url}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Waits until order `id` satisfies `condition`; returns it.
pub async fn order_when(url: &str, id: &str, what: &str, condition: impl Fn(&Value) -> bool) {
    let path = format!("/v1/orders/{id}");
    eventually(WITHIN, what, || async {
        let (status, order) = get(url, &path).await;
        status == 200 && condition(&order)
    })
    .await;
}

/// Produces `RestaurantCreated` for restaurant `restaurant_id` whose dish `a` costs
/// `price_cents`, as restaurant-service publishes it.
pub async fn restaurant_created(stack: &Stack, restaurant_id: Uuid, price_cents: i64) {
    let event = RestaurantCreated {
        restaurant_id,
        name: "Ajanta".into(),
        delivers: true,
        menu: vec![MenuItem {
            id: "a".into(),
            name: "Curry".into(),
            price_cents,
        }],
    };
    Command::json(restaurant::RESTAURANT_CREATED, restaurant_id, &event)
        .send(stack, restaurant::EVENTS)
        .await;
}

/// The id in field `field` of `value`.
pub fn id(value: &Value, field: &str) -> Uuid {
    value[field].as_str().unwrap().parse().unwrap()
}

/// Produces consumer-service's `ConsumerValidated` and restaurant-service's
/// `OrderDetailsValidated` for `order` (a representation) to order-service's reply
/// channel, as those services reply.
pub async fn both_validated(stack: &Stack, order: &Value) {
    let order_id = id(order, "id");
    let consumer = consumer::ConsumerValidation {
        order_id,
        consumer_id: id(order, "consumer_id"),
        reason: None,
    };
    let details = restaurant::OrderDetailsValidation {
        order_id,
        restaurant_id: id(order, "restaurant_id"),
        reason: None,
    };
    for command in [
        Command::json(consumer::CONSUMER_VALIDATED, order_id, &consumer),
        Command::json(restaurant::ORDER_DETAILS_VALIDATED, order_id, &details),
    ] {
        command.send(stack, contracts::order::REPLIES).await;
    }
}
