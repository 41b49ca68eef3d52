//! A consumer row that cannot be read back (here: a NULL name, after a migration
//! dropped the constraint) is an error naming the consumer and the column — a 500
//! problem over REST, `INTERNAL` over gRPC, a dead-lettered command — never a panic that
//! drops the request or stops the consumer loop.

use consumer_api::v1::GetConsumerRequest;
use consumer_api::v1::consumer_service_client::ConsumerServiceClient;
use contracts::consumer::COMMANDS;
use tonic::Code;
use uuid::Uuid;

use crate::commands::validate;
use crate::support::replies;
use crate::support::{self, assert_problem};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_row_that_cannot_be_read_is_an_error_naming_it() {
    let (stack, app) = support::start(true).await;
    let url = &app.url;
    let nameless = Uuid::now_v7();
    stack
        .database(support::DATABASE)
        .connect()
        .await
        .unwrap()
        .batch_execute(&format!(
            "ALTER TABLE consumers ALTER COLUMN name DROP NOT NULL;
             INSERT INTO consumers (id, name, order_limit_cents) VALUES ('{nameless}', NULL, 1)"
        ))
        .await
        .unwrap();

    let read = reqwest::get(format!("{url}/v1/consumers/{nameless}"))
        .await
        .unwrap();
    let problem = assert_problem(read, 500, None).await;
    assert_eq!(
        problem["detail"],
        format!("stored consumer {nameless} is corrupt"),
        "{problem}"
    );

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.grpc.unwrap()))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = ConsumerServiceClient::new(channel)
        .get_consumer(GetConsumerRequest {
            id: nameless.to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{status:?}");

    let (_, doomed) = validate(nameless, 1);
    doomed.send(&stack, COMMANDS).await;
    let (order_id, unknown) = validate(Uuid::now_v7(), 1);
    unknown.send(&stack, COMMANDS).await;
    let reasons = support::dead_letter_reasons(&stack, &[doomed.id.to_string()], COMMANDS);
    assert!(
        reasons[0].contains(&format!("corrupt consumer {nameless}"))
            && reasons[0].contains("column `name`"),
        "{}",
        reasons[0]
    );
    assert_eq!(
        replies(&stack, &[order_id])[0].len(),
        1,
        "later commands answered"
    );
}
