//! The gRPC server as order-service's client sees it: the same consumer as the REST API,
//! and the documented status codes.

use consumer_api::v1::GetConsumerRequest;
use consumer_api::v1::consumer_service_client::ConsumerServiceClient;
use serde_json::{Value, json};
use tonic::Code;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn get_consumer_answers_like_rest_and_maps_bad_and_unknown_ids_to_status_codes() {
    let (_stack, app) = support::start(false).await;
    let url = &app.url;
    let grpc_url = format!("http://{}", app.grpc.unwrap());
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{url}/v1/consumers"))
        .json(&json!({ "name": "Ada", "order_limit_cents": 4200 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    let channel = tonic::transport::Endpoint::from_shared(grpc_url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = ConsumerServiceClient::new(channel);
    let get = |id: &str| GetConsumerRequest { id: id.to_owned() };
    let found = client
        .get_consumer(get(&id))
        .await
        .unwrap()
        .into_inner()
        .consumer
        .unwrap();
    assert_eq!(
        json!({
            "id": found.id,
            "name": found.name,
            "order_limit_cents": found.order_limit_cents,
            "created_at": found.created_at,
        }),
        created,
        "the same consumer as over REST"
    );

    let bad = client.get_consumer(get("not-a-uuid")).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument, "{bad:?}");
    let unknown = uuid::Uuid::now_v7().to_string();
    let missing = client.get_consumer(get(&unknown)).await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");

    let (_, metrics) = ftgo_harness::http::get(
        url.trim_start_matches("http://").parse().unwrap(),
        "/metrics",
    )
    .await
    .unwrap();
    for code in ["ok", "invalid_argument", "not_found"] {
        let label = format!("code=\"{code}\"");
        let count = ftgo_harness::http::metric_value_matching(
            &metrics,
            "ftgo_grpc_server_requests_total",
            &["method=\"GetConsumer\"", &label],
        );
        assert_eq!(count, Some(1.0), "{code}");
    }
}
