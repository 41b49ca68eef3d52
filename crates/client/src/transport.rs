//! What the resilience stack wraps: one way of reaching a target ([`Transport`]), and
//! the tower service that splits its outcomes into answers and failures of the target.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tower::Service;

use super::CallError;

/// What a transport's call ends in: `Ok(Some(_))` an answer, `Ok(None)` "no such
/// resource" (also an answer), `Err(_)` anything else.
pub type CallFuture<R> = Pin<Box<dyn Future<Output = Result<Option<R>, CallError>> + Send>>;

/// One way of reaching a target — REST over HTTP/1.1 ([`crate::RestTransport`]) or gRPC
/// (`consumer_api::GrpcConsumers`) — below the one resilience stack (bulkhead, breaker, time
/// limit, metrics) of [`super::ResilientClient`].
///
/// A transport only speaks its protocol and maps its outcomes onto [`CallError`]; which
/// errors are failures of the target is decided once, by [`CallError::is_failure`], for
/// every transport.
pub trait Transport: Clone + Send + Sync + 'static {
    /// What one call asks.
    type Request: Send + 'static;
    /// What one call answers.
    type Response: Send + 'static;
    /// The `transport` label of the client's metrics (`rest`, `grpc`).
    const NAME: &'static str;

    /// Sends `request`, passing on the caller's W3C `traceparent` (a malformed value is
    /// dropped, as W3C Trace Context asks). The returned future owns what it needs, so the
    /// time limiter can drop it (closing the request) at any point.
    fn call(&self, request: Self::Request, traceparent: Option<&str>)
    -> CallFuture<Self::Response>;
}

/// A request on its way down the stack, with the caller's trace context.
#[derive(Debug)]
pub(crate) struct Traced<R> {
    pub(crate) request: R,
    pub(crate) traceparent: Option<String>,
}

/// The innermost tower service. Failures of the target are its `Err` — which is what
/// the breaker counts — every other outcome, error or not, is an `Ok` answer.
#[derive(Debug, Clone)]
pub(crate) struct Call<T>(pub(crate) T);

/// An outcome that shows the target working (the breaker counts it as a success).
pub(crate) type Answer<R> = Result<Option<R>, CallError>;

impl<T: Transport> Service<Traced<T::Request>> for Call<T> {
    type Response = Answer<T::Response>;
    type Error = CallError;
    type Future = Pin<Box<dyn Future<Output = Result<Answer<T::Response>, CallError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), CallError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, traced: Traced<T::Request>) -> Self::Future {
        let call = self.0.call(traced.request, traced.traceparent.as_deref());
        Box::pin(async move {
            match call.await {
                Err(error) if error.is_failure() => Err(error),
                answer => Ok(answer),
            }
        })
    }
}
