//! The REST API: create, read, validation problems, idempotent retries, cancel, and the
//! OpenAPI document's line item schema (REST's own type, no longer the Kafka contract).

use serde_json::json;
use service::Stopped;
use uuid::Uuid;

use crate::support::{self, assert_problem, cancel, get, place};

#[tokio::test]
async fn an_order_is_accepted_read_replayed_and_cancelled() {
    let (_stack, app) = support::start(&[]).await;
    let url = &app.url;
    let restaurant = Uuid::now_v7();

    let response = place(url, restaurant, 2, Some("key-1")).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(response.headers().get("idempotent-replayed").is_none());
    let order: serde_json::Value = response.json().await.unwrap();
    assert_eq!(order["state"], "PENDING");
    // The restaurant is not in the replica: accepted unpriced.
    assert_eq!(order["total_cents"], serde_json::Value::Null);
    assert_eq!(
        location,
        format!("/v1/orders/{}", order["id"].as_str().unwrap())
    );
    assert_eq!(order["_links"]["self"]["href"], location);
    assert_eq!(order["_links"]["cancel"]["method"], "POST");

    let (status, read) = get(url, &location).await;
    assert_eq!(status, 200);
    assert_eq!(read["id"], order["id"]);
    assert_eq!(
        read["line_items"],
        json!([{ "menu_item_id": "a", "quantity": 2 }])
    );

    // A retry with the same key and body answers the same order; another body is refused.
    let retry = place(url, restaurant, 2, Some("key-1")).await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.headers()["location"].to_str().unwrap(), location);
    let replayed: serde_json::Value = retry.json().await.unwrap();
    assert_eq!(replayed["id"], order["id"]);
    let other = place(url, restaurant, 3, Some("key-1")).await;
    assert_problem(other, 422, Some("Idempotency-Key")).await;

    let cancelled = cancel(url, &location).await;
    assert_eq!(cancelled.status(), 200);
    let cancelled: serde_json::Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["state"], "CANCELLED");
    assert!(cancelled["_links"].get("cancel").is_none(), "{cancelled}");
    assert_problem(cancel(url, &location).await, 409, None).await;
    assert_eq!(app.stop().await, Stopped::Cleanly);
}

#[tokio::test]
async fn invalid_requests_are_problems_naming_the_field() {
    let (_stack, app) = support::start(&[]).await;
    let url = &app.url;
    let problem = assert_problem(
        place(url, Uuid::now_v7(), 0, None).await,
        422,
        Some("line_items[0].quantity"),
    )
    .await;
    assert_eq!(problem["type"], "/problems/invalid-field");
    let empty = reqwest::Client::new()
        .post(format!("{url}/v1/orders"))
        .json(&json!({
            "consumer_id": Uuid::now_v7(),
            "restaurant_id": Uuid::now_v7(),
            "line_items": [],
        }))
        .send()
        .await
        .unwrap();
    assert_problem(empty, 422, Some("line_items")).await;
    let bad_key = place(url, Uuid::now_v7(), 1, Some("two words")).await;
    assert_problem(bad_key, 422, Some("Idempotency-Key")).await;
    let missing = reqwest::get(format!("{url}/v1/orders/{}", Uuid::now_v7()))
        .await
        .unwrap();
    assert_problem(missing, 404, None).await;
    let expansion = reqwest::get(format!("{url}/v1/orders/{}?expand=x", Uuid::now_v7()))
        .await
        .unwrap();
    assert_problem(expansion, 422, Some("expand")).await;

    // The schema of a line item is REST's own, with the constraints the server applies.
    let (status, document) = get(url, "/openapi.json").await;
    assert_eq!(status, 200);
    let line_item = &document["components"]["schemas"]["LineItem"];
    assert_eq!(line_item["properties"]["quantity"]["minimum"], 1);
    assert_eq!(line_item["properties"]["quantity"]["maximum"], 1000);
    assert_eq!(line_item["properties"]["menu_item_id"]["maxLength"], 100);
    let states = &document["components"]["schemas"]["OrderState"]["enum"];
    assert_eq!(
        *states,
        json!(["PENDING", "VALIDATED", "REJECTED", "CANCELLED"])
    );
    assert_eq!(app.stop().await, Stopped::Cleanly);
}
