//! Rows corrupted behind the service's back (written straight into its database) are
//! errors naming what is corrupt — a 500 for clients, a failed (then dead-lettered)
//! message — never an empty order, an empty menu or a guessed state.

use contracts::order;
use service::Stopped;
use uuid::Uuid;

use crate::support::{self, Command, assert_problem, dead_letter_reasons, id, placed};

/// Asserts `GET /v1/orders/{id}` is a 500 whose detail names `what`.
async fn read_fails_naming(url: &str, id: Uuid, what: &str) {
    let response = reqwest::get(format!("{url}/v1/orders/{id}")).await.unwrap();
    let problem = assert_problem(response, 500, None).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(what), "{problem}");
    assert!(detail.contains(&id.to_string()), "{problem}");
}

// Multi-threaded: reading the dead-letter topic blocks this test's thread while the
// service, in this process, keeps handling messages on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_rows_are_errors_naming_what_is_corrupt() {
    let (stack, app) = support::start(&[]).await;
    let url = &app.url;
    let db = support::database(&stack).await;

    // Line items that are not line items: once an order with no lines.
    let order = id(&placed(url, Uuid::now_v7(), 1).await, "id");
    db.execute(
        "UPDATE orders SET line_items = '[{\"dish\": 1}]' WHERE id = $1",
        &[&order],
    )
    .await
    .unwrap();
    read_fails_naming(url, order, "orders.line_items").await;
    let cancel = support::cancel(url, &format!("/v1/orders/{order}")).await;
    assert_problem(cancel, 500, None).await;

    // A reply for that order fails the same way on every try: dead-lettered, naming it.
    let reply = Command::raw(
        contracts::consumer::CONSUMER_VALIDATED,
        order,
        format!(
            r#"{{"order_id":"{order}","consumer_id":"{}"}}"#,
            Uuid::now_v7()
        )
        .into_bytes(),
    );
    reply.send(&stack, order::REPLIES).await;
    let reasons = dead_letter_reasons(&stack, &[reply.id.to_string()], order::REPLIES);
    assert!(reasons[0].contains("orders.line_items"), "{reasons:?}");
    assert!(reasons[0].contains(&order.to_string()), "{reasons:?}");

    // A state the service does not know (the CHECK constraint gone, as after a bad
    // migration): once read as REJECTED.
    let order = id(&placed(url, Uuid::now_v7(), 1).await, "id");
    db.batch_execute("ALTER TABLE orders DROP CONSTRAINT orders_state_check")
        .await
        .unwrap();
    db.execute("UPDATE orders SET state = 'LOST' WHERE id = $1", &[&order])
        .await
        .unwrap();
    read_fails_naming(url, order, "orders.state").await;

    // A replica menu that is not a menu: once an empty menu, pricing the order at 0.
    let restaurant = Uuid::now_v7();
    db.execute(
        "INSERT INTO restaurant_replica (restaurant_id, name, delivers, menu)
         VALUES ($1, 'Ajanta', true, '{\"a\": 250}')",
        &[&restaurant],
    )
    .await
    .unwrap();
    let response = support::place(url, restaurant, 1, None).await;
    let problem = assert_problem(response, 500, None).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("restaurant_replica.menu"),
        "{problem}"
    );
    assert_eq!(app.stop().await, Stopped::Cleanly);
}
