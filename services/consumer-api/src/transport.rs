//! gRPC with tonic: consumer-service's `ConsumerService.GetConsumer`.
//!
//! Status codes map onto [`CallError`] by the rule REST follows: a code whose HTTP
//! equivalent (gRPC's status-code mapping) is 5xx — `UNAVAILABLE`, `DEADLINE_EXCEEDED`,
//! `INTERNAL`, `UNKNOWN`, `UNIMPLEMENTED`, `DATA_LOSS` — is a failure of the target (see
//! [`CallError::is_failure`]); `NOT_FOUND` is the answer "no such consumer"; any other
//! code (`INVALID_ARGUMENT`, ...) means the target works but refused this request.

use tonic::transport::{Channel, Endpoint};

use resilient_client::{CallError, CallFuture, Error, Result, Transport, checked_url, describe};
use runtime::telemetry::TRACEPARENT;

use crate::v1::consumer_service_client::ConsumerServiceClient;
use crate::v1::{Consumer, GetConsumerRequest};

/// `GetConsumer` over one HTTP/2 channel, shared by clones (calls are multiplexed on it).
///
/// The channel connects lazily and reconnects by itself after the target restarts; TLS
/// is not compiled in (in-cluster plaintext, like the REST calls).
#[derive(Debug, Clone)]
pub struct GrpcConsumers {
    client: ConsumerServiceClient<Channel>,
}

impl GrpcConsumers {
    /// A transport to consumer-service's gRPC server at `url` (`http://host:port`, in
    /// Kubernetes its Service's DNS name and gRPC port).
    pub fn new(target: &str, url: &str) -> Result<Self> {
        let url = checked_url("grpc_url", target, url)?;
        let endpoint = Endpoint::from_shared(url)
            .map_err(|e| Error::config_key("grpc_url", format!("client for {target}: {e}")))?;
        Ok(Self {
            client: ConsumerServiceClient::new(endpoint.connect_lazy()),
        })
    }
}

impl Transport for GrpcConsumers {
    /// The consumer's id (UUID text form).
    type Request = String;
    type Response = Consumer;
    const NAME: &'static str = "grpc";

    fn call(&self, id: String, traceparent: Option<&str>) -> CallFuture<Consumer> {
        let mut client = self.client.clone();
        let mut request = tonic::Request::new(GetConsumerRequest { id });
        if let Some(value) = traceparent.and_then(|v| v.parse().ok()) {
            request.metadata_mut().insert(TRACEPARENT, value);
        }
        Box::pin(async move {
            match client.get_consumer(request).await {
                Ok(response) => response
                    .into_inner()
                    .consumer
                    .map(Some)
                    .ok_or_else(|| CallError::Decode("answer without a consumer".into())),
                Err(status) => classify(&status),
            }
        })
    }
}

/// An error status as an outcome: `NOT_FOUND` is the answer "none"; a connection that
/// could not be made or broke (tonic reports it as `UNAVAILABLE` with the cause attached)
/// is [`CallError::Transport`], as with REST; any other code is [`CallError::Grpc`].
fn classify<R>(status: &tonic::Status) -> Result<Option<R>, CallError> {
    match status.code() {
        tonic::Code::NotFound => Ok(None),
        tonic::Code::Unavailable if std::error::Error::source(status).is_some() => {
            Err(CallError::Transport(describe(status)))
        }
        code => Err(CallError::Grpc {
            code: code as i32,
            description: code.description(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use tonic::{Code, Status};

    use super::*;

    fn outcome(status: &Status) -> Result<Option<()>, CallError> {
        classify(status)
    }

    #[test]
    fn not_found_is_an_answer_not_a_failure() {
        assert_eq!(outcome(&Status::not_found("no consumer 7")), Ok(None));
    }

    #[test]
    fn server_side_codes_are_failures_of_the_target() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::Internal,
            Code::Unknown,
            Code::Unimplemented,
            Code::DataLoss,
        ] {
            let error = outcome(&Status::new(code, "down")).unwrap_err();
            assert!(
                matches!(error, CallError::Grpc { code: c, .. } if c == code as i32),
                "{error:?}"
            );
            assert!(error.is_failure(), "{code:?} must count as a failure");
        }
    }

    #[test]
    fn refusals_of_the_request_show_the_target_working() {
        for code in [
            Code::InvalidArgument,
            Code::PermissionDenied,
            Code::FailedPrecondition,
            Code::ResourceExhausted,
            Code::Cancelled,
        ] {
            let error = outcome(&Status::new(code, "no")).unwrap_err();
            assert!(!error.is_failure(), "{code:?} must not count as a failure");
            assert_eq!(error.outcome(), "status");
        }
    }

    #[test]
    fn a_broken_connection_is_a_transport_failure_naming_its_cause() {
        // How tonic reports a connection it could not make or lost: UNAVAILABLE with the
        // cause attached.
        let mut status = Status::unavailable("transport error");
        status.set_source(std::sync::Arc::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        )));
        let error = outcome(&status).unwrap_err();
        assert!(
            matches!(&error, CallError::Transport(reason) if reason.contains("connection refused")),
            "{error:?}"
        );
        assert!(error.is_failure());
    }
}
