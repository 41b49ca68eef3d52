//! The gRPC server: `ftgo.consumer.v1.ConsumerService`, the same lookup as
//! `GET /v1/consumers/{id}` over HTTP/2 and Protobuf (order-service may use either;
//! docs/architecture.md, "Sync transports").
//!
//! Status codes: `INVALID_ARGUMENT` for an id that is not a UUID, `NOT_FOUND` for an
//! unknown one, `INTERNAL` naming a consumer stored corrupt, `UNAVAILABLE` when the
//! database is down (the REST API's 400, 404, 500, 503). Calls are counted in
//! `ftgo_grpc_server_requests_total{method, code}`. The lookup itself is the use case
//! REST runs too ([`application::get_consumer`]); this module only translates.

use consumer_api::v1 as proto;
use consumer_api::v1::consumer_service_server::{ConsumerService, ConsumerServiceServer};
use deadpool_postgres::Pool;
use prometheus::{IntCounterVec, Opts, Registry};
use tonic::{Code, Request, Response, Status};
use uuid::Uuid;

use crate::domain::Consumer;
use crate::{Error, application};

/// The service implementation, ready to be added to a tonic server.
#[derive(Debug, Clone)]
pub struct ConsumerGrpc {
    pool: Pool,
    requests: IntCounterVec,
}

impl ConsumerGrpc {
    /// The service on `pool`, registering its counter in `registry`.
    pub fn routes(pool: Pool, registry: &Registry) -> service::Result<tonic::service::Routes> {
        let requests = IntCounterVec::new(
            Opts::new(
                "ftgo_grpc_server_requests_total",
                "gRPC calls served, by method and status code.",
            ),
            &["method", "code"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        Ok(tonic::service::Routes::new(ConsumerServiceServer::new(
            Self { pool, requests },
        )))
    }

    async fn find(&self, id: &str) -> Result<Consumer, Status> {
        let id = Uuid::parse_str(id).map_err(|_| Status::invalid_argument("`id` is not a UUID"))?;
        let client = runtime::db::connection(&self.pool)
            .await
            .map_err(unavailable)?;
        application::get_consumer(&client, id)
            .await
            .map_err(|error| match error {
                not_found @ Error::NotFound { .. } => Status::not_found(not_found.to_string()),
                Error::Corrupt { what, reason } => {
                    tracing::error!(what, reason, "GetConsumer: corrupt stored data");
                    Status::internal(format!("stored {what} is corrupt"))
                }
                other => unavailable(other),
            })
    }
}

#[tonic::async_trait]
impl ConsumerService for ConsumerGrpc {
    async fn get_consumer(
        &self,
        request: Request<proto::GetConsumerRequest>,
    ) -> Result<Response<proto::GetConsumerResponse>, Status> {
        let result = self.find(&request.get_ref().id).await;
        let code = result.as_ref().map_or_else(Status::code, |_| Code::Ok);
        self.requests
            .with_label_values(&["GetConsumer", code_label(code)])
            .inc();
        let consumer = result?;
        Ok(Response::new(proto::GetConsumerResponse {
            consumer: Some(proto::Consumer {
                id: consumer.id.to_string(),
                name: consumer.name,
                order_limit_cents: consumer.order_limit_cents,
                created_at: consumer.created_at,
            }),
        }))
    }
}

/// The database is down: the caller may try again later; the cause is logged, not sent.
fn unavailable(error: impl std::fmt::Display) -> Status {
    tracing::warn!(error = %error, "GetConsumer: database unavailable");
    Status::unavailable("database unavailable")
}

/// The `code` label: the codes this service answers with (a bounded set).
fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::InvalidArgument => "invalid_argument",
        Code::NotFound => "not_found",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_a_bounded_set() {
        assert_eq!(code_label(Code::Ok), "ok");
        assert_eq!(code_label(Code::NotFound), "not_found");
        assert_eq!(code_label(Code::DataLoss), "other");
    }
}
