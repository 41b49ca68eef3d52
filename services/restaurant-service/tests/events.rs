//! Restaurant changes reach `restaurant.events` through the outbox and the relay, keyed
//! by restaurant, in the order they were made.

use contracts::MenuItem;
use contracts::restaurant::{
    EVENTS, MENU_REVISED, MenuRevised, RESTAURANT_CREATED, RestaurantCreated,
};
use outbox::headers;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::menu;
use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_are_published_as_events_keyed_by_restaurant() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let http = reqwest::Client::new();
    let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let created: Value = http
        .post(format!("{url}/v1/restaurants"))
        .header(headers::TRACEPARENT, trace)
        .json(&json!({ "name": "Ajanta", "menu": menu() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let refused = http
        .put(format!("{url}/v1/restaurants/{id}/menu"))
        .json(&json!({ "menu": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let new_menu = vec![MenuItem {
        id: "thali".into(),
        name: "Thali".into(),
        price_cents: 1800,
    }];
    let revised = http
        .put(format!("{url}/v1/restaurants/{id}/menu"))
        .json(&json!({ "menu": new_menu }))
        .send()
        .await
        .unwrap();
    assert_eq!(revised.status(), 200);

    let key = id.to_string();
    let records = support::read_until(&stack, EVENTS, |records| {
        records.iter().any(|r| {
            r.key.as_deref() == Some(&key) && r.header(headers::MESSAGE_TYPE) == Some(MENU_REVISED)
        })
    });
    let mine: Vec<_> = records
        .iter()
        .filter(|r| r.key.as_deref() == Some(key.as_str()))
        .collect();
    let types: Vec<_> = mine
        .iter()
        .map(|r| r.header(headers::MESSAGE_TYPE).unwrap())
        .collect();
    assert_eq!(
        types,
        [RESTAURANT_CREATED, MENU_REVISED],
        "one event per committed change, in order: {mine:?}"
    );
    assert_eq!(
        mine[0].partition, mine[1].partition,
        "one restaurant, one partition"
    );
    assert!(mine[0].offset < mine[1].offset);

    let created_event: RestaurantCreated = serde_json::from_slice(&mine[0].payload).unwrap();
    assert_eq!(
        created_event,
        RestaurantCreated {
            restaurant_id: id,
            name: "Ajanta".into(),
            delivers: true,
            menu: serde_json::from_value(menu()).unwrap(),
        }
    );
    assert_eq!(mine[0].header(headers::SCHEMA_VERSION), Some("1"));
    assert_eq!(
        mine[0].header(headers::CONTENT_TYPE),
        Some("application/json")
    );
    assert_eq!(
        mine[0].header(headers::TRACEPARENT),
        Some(trace),
        "trace propagated"
    );
    assert!(
        mine[0]
            .header(headers::MESSAGE_ID)
            .unwrap()
            .parse::<Uuid>()
            .is_ok()
    );

    let revised_event: MenuRevised = serde_json::from_slice(&mine[1].payload).unwrap();
    assert_eq!(
        revised_event,
        MenuRevised {
            restaurant_id: id,
            menu: new_menu
        }
    );
}
