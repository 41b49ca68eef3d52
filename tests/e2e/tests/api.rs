//! The REST contract: problem+json naming the field, compatible evolution, OpenAPI.

use serde::Deserialize;
use serde_json::json;

use crate::support::System;

#[tokio::test]
async fn bad_input_is_problem_json_naming_the_field_and_never_a_server_error() {
    let mut system = System::start().await;
    let orders = format!("{}/v1/orders", system.url("order-service"));
    let consumer = uuid::Uuid::now_v7();
    let cases: Vec<(&str, String, u16, Option<&str>)> = vec![
        ("malformed JSON", "{\"consumer_id\": ".into(), 400, None),
        ("missing field", json!({ "consumer_id": consumer, "line_items": [] }).to_string(), 422, Some("restaurant_id")),
        ("wrong type", json!({ "consumer_id": consumer, "restaurant_id": consumer, "line_items": [{ "menu_item_id": "a", "quantity": "two" }] }).to_string(), 422, Some("line_items[0].quantity")),
        ("not a UUID", json!({ "consumer_id": "bob", "restaurant_id": consumer, "line_items": [] }).to_string(), 422, Some("consumer_id")),
        ("empty order", json!({ "consumer_id": consumer, "restaurant_id": consumer, "line_items": [] }).to_string(), 422, Some("line_items")),
        ("zero quantity", json!({ "consumer_id": consumer, "restaurant_id": consumer, "line_items": [{ "menu_item_id": "a", "quantity": 0 }] }).to_string(), 422, Some("line_items[0].quantity")),
    ];
    for (case, body, status, field) in cases {
        let response = system
            .http
            .post(&orders)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{case}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{case}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["status"], status, "{case}: {problem}");
        assert_eq!(problem["field"].as_str(), field, "{case}: {problem}");
    }
    let base = system.url("order-service");
    for (path, status) in [
        ("/v1/orders/not-a-uuid", 400),
        (&*format!("/v1/orders/{consumer}"), 404),
        ("/v1/nothing-here", 404),
    ] {
        let (got, problem) = system.get(&format!("{base}{path}")).await;
        assert_eq!(got, status, "{path}: {problem}");
    }
    let response = system
        .http
        .post(&orders)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let order_service = system.stack.service("order-service", 0).http_address();
    let errors = crate::support::metric(
        order_service,
        "ftgo_http_requests_total",
        &[("status", "500")],
    )
    .await;
    assert_eq!(errors, 0.0, "no request produced a 500");
}

/// A client written against the first release of `/v1/orders/{id}`: it knows only these
/// fields, and ignores the rest (as /v1 promises clients may: fields are only added).
#[derive(Debug, Deserialize)]
struct OrderAsFirstClientsSawIt {
    id: uuid::Uuid,
    state: String,
    total_cents: i64,
}

#[tokio::test]
async fn a_response_with_added_fields_still_satisfies_the_previous_client() {
    let mut system = System::start().await;
    let consumer = system.create_consumer("Hedy").await;
    let restaurant = system.create_restaurant(&[("chai", 100)]).await;
    let order = system
        .place_order(consumer, restaurant, &[("chai", 2)])
        .await;
    // Priced (the first clients' orders always were): by the time it is validated.
    system
        .wait_for_state(
            order["id"].as_str().unwrap(),
            "VALIDATED",
            std::time::Duration::from_secs(60),
        )
        .await;
    let url = format!(
        "{}/v1/orders/{}",
        system.url("order-service"),
        order["id"].as_str().unwrap()
    );
    let response = system
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    // The current response has fields the first client never heard of...
    let current: serde_json::Value = serde_json::from_str(&response).unwrap();
    assert!(current.get("_links").is_some() && current.get("line_items").is_some());
    // ...and the first client still reads it.
    let old: OrderAsFirstClientsSawIt = serde_json::from_str(&response).unwrap();
    assert_eq!(old.id.to_string(), order["id"].as_str().unwrap());
    assert_eq!(old.total_cents, 200);
    assert_eq!(old.state, "VALIDATED");
}

#[tokio::test]
async fn every_service_serves_its_openapi_3_1_document() {
    let mut system = System::start().await;
    for (binary, path) in [
        ("order-service", "/v1/orders"),
        ("consumer-service", "/v1/consumers"),
        ("restaurant-service", "/v1/restaurants"),
    ] {
        let url = format!("{}/openapi.json", system.url(binary));
        let (status, document) = system.get(&url).await;
        assert_eq!(status, 200, "{binary}");
        assert!(
            document["openapi"].as_str().unwrap().starts_with("3.1"),
            "{binary}: {document}"
        );
        assert!(
            document["paths"].get(path).is_some(),
            "{binary} lacks {path}"
        );
    }
}

/// A client that lost the answer to `POST /v1/orders` retries with the same
/// `Idempotency-Key` and gets the order it created, not a second one; the key cannot be
/// reused for another order.
#[tokio::test]
async fn a_retried_order_with_its_idempotency_key_is_created_once() {
    let mut system = System::start().await;
    let consumer = system.create_consumer("Ana").await;
    let restaurant = system.create_restaurant(&[("samosa", 250)]).await;
    // Once this succeeds, the replica knows the restaurant.
    system
        .place_order(consumer, restaurant, &[("samosa", 1)])
        .await;
    let orders = format!("{}/v1/orders", system.url("order-service"));
    let order = |quantity: u32| {
        json!({ "consumer_id": consumer, "restaurant_id": restaurant,
                "line_items": [{ "menu_item_id": "samosa", "quantity": quantity }] })
    };
    let post = |key: &'static str, body: serde_json::Value| {
        let request = system
            .http
            .post(&orders)
            .header("idempotency-key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            let body: serde_json::Value = response.json().await.unwrap();
            (status, replayed, body)
        }
    };

    let (status, replayed, first) = post("checkout-7f3a", order(2)).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = post("checkout-7f3a", order(2)).await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(again["id"], first["id"]);

    // Two retries racing each other: one order between them.
    let (a, b) = tokio::join!(
        post("checkout-race", order(3)),
        post("checkout-race", order(3))
    );
    assert_eq!((a.0, b.0), (201, 201), "{} {}", a.2, b.2);
    assert_eq!(a.2["id"], b.2["id"]);
    assert!(a.1 != b.1, "exactly one of the two is a replay");

    // The key names one order: another order under it, or a malformed key, is refused.
    let (status, _, problem) = post("checkout-7f3a", order(5)).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("Idempotency-Key")),
        "{problem}"
    );
    let (status, _, problem) = post("two words", order(1)).await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("Idempotency-Key")),
        "{problem}"
    );

    let database = system
        .stack
        .database("order_service")
        .connect()
        .await
        .unwrap();
    let rows: i64 = database
        .query_one(
            "SELECT count(*) FROM orders WHERE idempotency_key IN ('checkout-7f3a', 'checkout-race')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 2, "one order per key");
    let id = first["id"].as_str().unwrap().to_owned();
    system
        .wait_for_state(&id, "VALIDATED", std::time::Duration::from_secs(60))
        .await;
}
