//! The resilient client over gRPC against a real tonic server: the same classification
//! and the same breaker as over REST.

use std::time::Duration;

use consumer_api::GrpcConsumers;
use consumer_api::v1::consumer_service_server::{ConsumerService, ConsumerServiceServer};
use consumer_api::v1::{Consumer, GetConsumerRequest, GetConsumerResponse};
use prometheus::Registry;
use resilient_client::{BreakerState, CallError, ResilienceSettings, ResilientClient};
use tonic::{Code, Request, Response, Status};

const TARGET: &str = "consumer-service";

/// Answers by id: `missing` NOT_FOUND, `bad` INVALID_ARGUMENT, `down` UNAVAILABLE, any
/// other id a consumer of that id; the traceparent it received becomes the name.
#[derive(Debug, Clone, Copy)]
struct Fake;

#[tonic::async_trait]
impl ConsumerService for Fake {
    async fn get_consumer(
        &self,
        request: Request<GetConsumerRequest>,
    ) -> Result<Response<GetConsumerResponse>, Status> {
        let name = request
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("Ann")
            .to_owned();
        match request.into_inner().id.as_str() {
            "missing" => Err(Status::not_found("no such consumer")),
            "bad" => Err(Status::invalid_argument("`id` is not a UUID")),
            "down" => Err(Status::unavailable("database unavailable")),
            id => Ok(Response::new(GetConsumerResponse {
                consumer: Some(Consumer {
                    id: id.to_owned(),
                    name,
                    order_limit_cents: 100,
                    created_at: "2026-01-01T00:00:00.000000Z".into(),
                }),
            })),
        }
    }
}

async fn start_fake() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ConsumerServiceServer::new(Fake))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    url
}

fn client(url: &str) -> (ResilientClient<GrpcConsumers>, Registry) {
    let registry = runtime::metrics::registry().unwrap();
    let settings = ResilienceSettings {
        timeout_ms: 1000,
        sliding_window_size: 4,
        minimum_calls: 4,
        open_wait_ms: 60_000,
        ..ResilienceSettings::default()
    };
    let transport = GrpcConsumers::new(TARGET, url).unwrap();
    let client = ResilientClient::with_transport(TARGET, transport, &settings, &registry).unwrap();
    (client, registry)
}

#[tokio::test]
async fn answers_not_found_and_refusals_keep_the_breaker_closed_unavailable_opens_it() {
    let url = start_fake().await;
    let (client, _registry) = client(&url);

    let found = client.call("7".into(), Some("00-trace-01")).await.unwrap();
    let found = found.unwrap();
    assert_eq!(
        (found.id.as_str(), found.name.as_str()),
        ("7", "00-trace-01")
    );
    assert_eq!(client.call("missing".into(), None).await, Ok(None));
    for _ in 0..4 {
        assert_eq!(
            client.call("bad".into(), None).await,
            Err(CallError::Grpc {
                code: Code::InvalidArgument as i32,
                description: Code::InvalidArgument.description()
            })
        );
    }
    assert_eq!(
        client.breaker_state(),
        BreakerState::Closed,
        "refusals are answers"
    );

    // Two failures in a window of four: half, the threshold.
    for _ in 0..2 {
        assert_eq!(
            client.call("down".into(), None).await,
            Err(CallError::Grpc {
                code: Code::Unavailable as i32,
                description: Code::Unavailable.description()
            })
        );
    }
    assert_eq!(client.breaker_state(), BreakerState::Open);
    assert_eq!(
        client.call("7".into(), None).await,
        Err(CallError::BreakerOpen)
    );
}

#[tokio::test]
async fn an_unreachable_grpc_target_is_a_transport_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let (client, _registry) = client(&format!("http://127.0.0.1:{port}"));
    let error = tokio::time::timeout(Duration::from_secs(5), client.call("7".into(), None))
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, CallError::Transport(_)), "{error:?}");
}
