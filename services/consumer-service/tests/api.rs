//! The REST API: registration, reads, every bad input as problem+json, the OpenAPI
//! document.

use serde_json::{Value, json};

use crate::support::{self, assert_problem};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registers_then_reads_a_consumer() {
    let (_stack, app) = support::start(false).await;
    let url = &app.url;
    let http = reqwest::Client::new();

    let created = http
        .post(format!("{url}/v1/consumers"))
        .json(&json!({ "name": "  Alice  ", "order_limit_cents": 2500 }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = created.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/consumers/{id}"));
    assert_eq!(body["name"], "Alice", "names are trimmed");
    assert_eq!(body["order_limit_cents"], 2500);
    assert!(
        body["created_at"].as_str().unwrap().ends_with('Z'),
        "{body}"
    );

    let read = http.get(format!("{url}{location}")).send().await.unwrap();
    assert_eq!(read.status(), 200);
    let read: Value = read.json().await.unwrap();
    assert_eq!(read, body);

    let defaulted: Value = http
        .post(format!("{url}/v1/consumers"))
        .json(&json!({ "name": "Bob" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        defaulted["order_limit_cents"],
        consumer_service::domain::DEFAULT_ORDER_LIMIT_CENTS
    );
    assert_ne!(defaulted["id"], body["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_are_problems_naming_the_field_and_never_5xx() {
    let (_stack, app) = support::start(false).await;
    let url = &app.url;
    let http = reqwest::Client::new();
    let post = |body: &'static str| {
        http.post(format!("{url}/v1/consumers"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    assert_problem(post(r#"{"name": "Al"#).await.unwrap(), 400, None).await;
    assert_problem(post(r#"{}"#).await.unwrap(), 422, Some("name")).await;
    assert_problem(post(r#"{"name": 5}"#).await.unwrap(), 422, Some("name")).await;
    assert_problem(
        post(r#"{"name": "Al", "order_limit_cents": "many"}"#)
            .await
            .unwrap(),
        422,
        Some("order_limit_cents"),
    )
    .await;
    assert_problem(
        post(r#"{"name": "Al", "order_limit_cents": -1}"#)
            .await
            .unwrap(),
        422,
        Some("order_limit_cents"),
    )
    .await;
    assert_problem(post(r#"{"name": "   "}"#).await.unwrap(), 422, Some("name")).await;
    let long = http
        .post(format!("{url}/v1/consumers"))
        .json(&json!({ "name": "x".repeat(201) }))
        .send()
        .await
        .unwrap();
    assert_problem(long, 422, Some("name")).await;
    let unknown_field = post(r#"{"name": "Al", "nickname": "A"}"#).await.unwrap();
    let problem = assert_problem(unknown_field, 422, None).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("nickname"),
        "{problem}"
    );
    let not_json = http
        .post(format!("{url}/v1/consumers"))
        .header("content-type", "text/plain")
        .body("name=Al")
        .send()
        .await
        .unwrap();
    assert_problem(not_json, 415, None).await;

    let unknown = uuid::Uuid::now_v7();
    let missing = http
        .get(format!("{url}/v1/consumers/{unknown}"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(missing, 404, None).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&unknown.to_string())
    );
    let not_uuid = http
        .get(format!("{url}/v1/consumers/not-a-uuid"))
        .send()
        .await
        .unwrap();
    assert_problem(not_uuid, 400, Some("id")).await;
    let wrong_method = http
        .delete(format!("{url}/v1/consumers/{unknown}"))
        .send()
        .await
        .unwrap();
    assert_problem(wrong_method, 405, None).await;
    let no_route = http
        .get(format!("{url}/v2/consumers"))
        .send()
        .await
        .unwrap();
    assert_problem(no_route, 404, None).await;

    support::assert_no_server_errors(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serves_its_openapi_3_1_document() {
    let (_stack, app) = support::start(false).await;
    support::assert_openapi(
        &app.url,
        &[("post", "/v1/consumers"), ("get", "/v1/consumers/{id}")],
        &["NewConsumer", "ConsumerView", "Problem"],
    )
    .await;
}
