//! consumer-service as order-service sees it: one lookup, over REST or gRPC as
//! configured (`consumer_service.transport`), always through the same resilient client
//! (bulkhead, breaker, time limit, metrics).

use consumer_api::GrpcConsumers;
use consumer_api::v1::Consumer;
use prometheus::Registry;
use resilient_client::{CallError, ClientSettings, ResilientClient, TransportKind};
use serde_json::{Value, json};
use uuid::Uuid;

/// The `target` of the client's metrics and logs.
pub const TARGET: &str = "consumer-service";

/// The configured way to ask consumer-service for a consumer.
#[derive(Debug, Clone)]
pub enum ConsumerLookup {
    /// `GET /v1/consumers/{id}`.
    Rest(ResilientClient),
    /// `ftgo.consumer.v1.ConsumerService/GetConsumer`.
    Grpc(ResilientClient<GrpcConsumers>),
}

impl ConsumerLookup {
    /// The client `settings.transport` asks for, its metrics registered in `registry`.
    pub fn from_settings(
        settings: &ClientSettings,
        registry: &Registry,
    ) -> resilient_client::Result<Self> {
        Ok(match settings.transport {
            TransportKind::Rest => {
                Self::Rest(ResilientClient::from_settings(TARGET, settings, registry)?)
            }
            TransportKind::Grpc => {
                let transport = GrpcConsumers::new(TARGET, settings.required_grpc_url()?)?;
                Self::Grpc(ResilientClient::with_transport(
                    TARGET,
                    transport,
                    &settings.resilience,
                    registry,
                )?)
            }
        })
    }

    /// The consumer `id` as consumer-service's REST API shows it (`ConsumerView`), or
    /// `None` if it has none; `Err` when there is no answer (the caller degrades).
    pub async fn find(
        &self,
        id: Uuid,
        traceparent: Option<&str>,
    ) -> Result<Option<Value>, CallError> {
        match self {
            Self::Rest(client) => {
                client
                    .get_json_traced(&format!("/v1/consumers/{id}"), traceparent)
                    .await
            }
            Self::Grpc(client) => Ok(client
                .call(id.to_string(), traceparent)
                .await?
                .map(|consumer| view(&consumer))),
        }
    }
}

/// The gRPC message in the shape of the REST `ConsumerView`, so an order's
/// `?expand=consumer` looks the same whichever transport fetched it.
fn view(consumer: &Consumer) -> Value {
    json!({
        "id": consumer.id,
        "name": consumer.name,
        "order_limit_cents": consumer.order_limit_cents,
        "created_at": consumer.created_at,
    })
}
