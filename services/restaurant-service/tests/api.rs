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
    assert_problem(
        post(json!({ "menu": menu() })).await.unwrap(),
        422,
        Some("name"),
    )
    .await;
    assert_problem(
        post(json!({ "name": "A" })).await.unwrap(),
        422,
        Some("menu"),
    )
    .await;
    assert_problem(
        post(json!({ "name": "A", "delivers": "yes", "menu": menu() }))
            .await
            .unwrap(),
        422,
        Some("delivers"),
    )
    .await;
    assert_problem(
        post(json!({ "name": "A", "menu": [
            { "id": "a", "name": "A", "price_cents": 1 },
            { "id": "b", "name": "B", "price_cents": "free" }
        ]}))
        .await
        .unwrap(),
        422,
        Some("menu[1].price_cents"),
    )
    .await;
    assert_problem(
        post(json!({ "name": "A", "menu": [
            { "id": "a", "name": "A", "price_cents": 1 },
            { "id": "b", "name": "B", "price_cents": -1 }
        ]}))
        .await
        .unwrap(),
        422,
        Some("menu[1].price_cents"),
    )
    .await;
    assert_problem(
        post(json!({ "name": "A", "menu": [{ "id": "a", "name": "A" }] }))
            .await
            .unwrap(),
        422,
        Some("menu[0].price_cents"),
    )
    .await;
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
    assert_problem(
        post(json!({ "name": "A", "menu": [] })).await.unwrap(),
        422,
        Some("menu"),
    )
    .await;
    assert_problem(
        post(json!({ "name": "", "menu": menu() })).await.unwrap(),
        422,
        Some("name"),
    )
    .await;

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
    let url = &app.url;
    let response = reqwest::get(format!("{url}/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{document}"
    );
    let paths = document["paths"].as_object().unwrap();
    assert!(paths["/v1/restaurants"]["post"].is_object(), "{document}");
    assert!(
        paths["/v1/restaurants/{id}"]["get"].is_object(),
        "{document}"
    );
    assert!(
        paths["/v1/restaurants/{id}/menu"]["put"].is_object(),
        "{document}"
    );
    let schemas = document["components"]["schemas"].as_object().unwrap();
    for schema in [
        "NewRestaurant",
        "MenuRevision",
        "RestaurantView",
        "MenuItem",
        "Problem",
    ] {
        assert!(schemas.contains_key(schema), "{schema} missing: {document}");
    }
}
