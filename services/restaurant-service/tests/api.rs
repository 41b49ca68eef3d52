//! The REST API: create, read, revise, every bad input as problem+json, the OpenAPI
//! document.

use serde_json::{Value, json};

use crate::support::{self, assert_problem};

pub fn menu() -> Value {
    json!([
        { "id": "samosa", "name": "Samosa", "price_cents": 450 },
        { "id": "dal", "name": "Dal makhani", "price_cents": 1200 }
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creates_reads_and_revises_a_restaurant() {
    let (_stack, app) = support::start(false).await;
    let url = &app.url;
    let http = reqwest::Client::new();

    let created = http
        .post(format!("{url}/v1/restaurants"))
        .json(&json!({ "name": " Ajanta ", "menu": menu() }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = created.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/restaurants/{id}"));
    assert_eq!(body["name"], "Ajanta");
    assert_eq!(body["delivers"], true, "delivers by default");
    assert_eq!(body["menu"], menu());

    let read: Value = http
        .get(format!("{url}{location}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read, body);

    let new_menu = json!([
        { "id": "thali", "name": "Thali", "price_cents": 1800 },
        { "id": "samosa", "name": "Samosa", "price_cents": 500 }
    ]);
    let revised = http
        .put(format!("{url}{location}/menu"))
        .json(&json!({ "menu": new_menu }))
        .send()
        .await
        .unwrap();
    assert_eq!(revised.status(), 200);
    let revised: Value = revised.json().await.unwrap();
    assert_eq!(revised["menu"], new_menu);
    let read: Value = http
        .get(format!("{url}{location}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        read["menu"], new_menu,
        "the menu is replaced, in the new order"
    );
    assert_eq!(read["name"], "Ajanta");

    let closed: Value = http
        .post(format!("{url}/v1/restaurants"))
        .json(&json!({ "name": "Closed", "delivers": false, "menu": menu() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(closed["delivers"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_are_problems_naming_the_field_and_never_5xx() {
    let (_stack, app) = support::start(false).await;
    let url = &app.url;
    let http = reqwest::Client::new();
    let post = |body: Value| {
        http.post(format!("{url}/v1/restaurants"))
            .json(&body)
            .send()
    };
    let raw = |body: &'static str| {
        http.post(format!("{url}/v1/restaurants"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    assert_problem(raw(r#"{"name": "A", "menu": ["#).await.unwrap(), 400, None).await;
    // Each body is refused with 422 naming the field at fault.
    let refused = [
        (json!({ "menu": menu() }), "name"),
        (json!({ "name": "A" }), "menu"),
        (
            json!({ "name": "A", "delivers": "yes", "menu": menu() }),
            "delivers",
        ),
        (
            json!({ "name": "A", "menu": [
                { "id": "a", "name": "A", "price_cents": 1 },
                { "id": "b", "name": "B", "price_cents": "free" }
            ]}),
            "menu[1].price_cents",
        ),
        (
            json!({ "name": "A", "menu": [
                { "id": "a", "name": "A", "price_cents": 1 },
                { "id": "b", "name": "B", "price_cents": -1 }
            ]}),
            "menu[1].price_cents",
        ),
        (
            json!({ "name": "A", "menu": [{ "id": "a", "name": "A" }] }),
            "menu[0].price_cents",
        ),
        (json!({ "name": "A", "menu": [] }), "menu"),
        (json!({ "name": "", "menu": menu() }), "name"),
    ];
    for (body, field) in refused {
        assert_problem(post(body).await.unwrap(), 422, Some(field)).await;
    }
    let duplicate = assert_problem(
        post(json!({ "name": "A", "menu": [
            { "id": "a", "name": "A", "price_cents": 1 },
            { "id": "a", "name": "B", "price_cents": 2 }
        ]}))
        .await
        .unwrap(),
        422,
        Some("menu[1].id"),
    )
    .await;
    assert!(
        duplicate["detail"].as_str().unwrap().contains("duplicate"),
        "{duplicate}"
    );

    let unknown = uuid::Uuid::now_v7();
    let missing = http
        .get(format!("{url}/v1/restaurants/{unknown}"))
        .send()
        .await
        .unwrap();
    assert_problem(missing, 404, None).await;
    let revise_missing = http
        .put(format!("{url}/v1/restaurants/{unknown}/menu"))
        .json(&json!({ "menu": menu() }))
        .send()
        .await
        .unwrap();
    assert_problem(revise_missing, 404, None).await;
    let not_uuid = http
        .get(format!("{url}/v1/restaurants/42"))
        .send()
        .await
        .unwrap();
    assert_problem(not_uuid, 400, Some("id")).await;
    let revise_not_uuid = http
        .put(format!("{url}/v1/restaurants/42/menu"))
        .json(&json!({ "menu": menu() }))
        .send()
        .await
        .unwrap();
    assert_problem(revise_not_uuid, 400, Some("id")).await;

    // A real restaurant, revised badly: the menu is checked the same way.
    let created: Value = post(json!({ "name": "A", "menu": menu() }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let bad_revision = http
        .put(format!("{url}/v1/restaurants/{id}/menu"))
        .json(&json!({ "menu": [{ "id": "a", "name": " ", "price_cents": 1 }] }))
        .send()
        .await
        .unwrap();
    assert_problem(bad_revision, 422, Some("menu[0].name")).await;
    let unknown_field = http
        .put(format!("{url}/v1/restaurants/{id}/menu"))
        .json(&json!({ "menu": menu(), "delivers": false }))
        .send()
        .await
        .unwrap();
    assert_problem(unknown_field, 422, Some("delivers")).await;
    let still: Value = http
        .get(format!("{url}/v1/restaurants/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(still["menu"], menu(), "refused revisions change nothing");

    support::assert_no_server_errors(url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serves_its_openapi_3_1_document() {
    let (_stack, app) = support::start(false).await;
    support::assert_openapi(
        &app.url,
        &[
            ("post", "/v1/restaurants"),
            ("get", "/v1/restaurants/{id}"),
            ("put", "/v1/restaurants/{id}/menu"),
        ],
        &[
            "NewRestaurant",
            "MenuRevision",
            "RestaurantView",
            "MenuItem",
            "Problem",
        ],
    )
    .await;
}
