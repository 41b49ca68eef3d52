//! A restaurant stored in a shape the domain refuses (here: no menu items at all, which
//! the service never writes) is an error naming it — a 500 problem for a read, a
//! dead-lettered command — never an empty menu that quietly rejects every order.

use contracts::restaurant::COMMANDS;
use uuid::Uuid;

use crate::commands::{line, validate};
use crate::support::replies;
use crate::support::{self, assert_problem};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restaurant_stored_without_a_menu_is_an_error_naming_it() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let hollow = Uuid::now_v7();
    stack
        .database(support::DATABASE)
        .connect()
        .await
        .unwrap()
        .execute(
            "INSERT INTO restaurants (id, name) VALUES ($1, 'Hollow')",
            &[&hollow],
        )
        .await
        .unwrap();

    let read = reqwest::get(format!("{url}/v1/restaurants/{hollow}"))
        .await
        .unwrap();
    let problem = assert_problem(read, 500, None).await;
    assert_eq!(
        problem["detail"],
        format!("stored restaurant {hollow} is corrupt"),
        "{problem}"
    );

    let (_, doomed) = validate(hollow, vec![line("samosa", 1)]);
    doomed.send(&stack, COMMANDS).await;
    let (order_id, unknown) = validate(Uuid::now_v7(), vec![line("samosa", 1)]);
    unknown.send(&stack, COMMANDS).await;
    let reasons = support::dead_letter_reasons(&stack, &[doomed.id.to_string()], COMMANDS);
    assert!(
        reasons[0].contains(&format!("corrupt restaurant {hollow}"))
            && reasons[0].contains("a menu needs at least one item"),
        "{}",
        reasons[0]
    );
    assert_eq!(
        replies(&stack, &[order_id])[0].len(),
        1,
        "later commands answered"
    );
}
