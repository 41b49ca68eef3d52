//! The innermost tower service: one HTTP exchange with reqwest, body included.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tower::Service;

/// A complete answer that is not a 5xx: status and the whole body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// What the breaker counts as a failure of the target (together with the time limiter's
/// timeout, which wraps this service).
#[derive(Debug)]
pub(crate) enum Failure {
    /// 5xx: the target is up but failing.
    Status(u16),
    /// Connect, send or read failed.
    Transport(String),
}

/// Sends the request and reads the body inside the service future, so the time limiter
/// around it bounds the whole exchange, not just the headers.
#[derive(Debug, Clone)]
pub(crate) struct HttpCall {
    pub(crate) http: reqwest::Client,
}

impl Service<reqwest::Request> for HttpCall {
    type Response = Reply;
    type Error = Failure;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Failure>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: reqwest::Request) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move {
            let response = http.execute(request).await.map_err(transport)?;
            let status = response.status().as_u16();
            if status >= 500 {
                return Err(Failure::Status(status));
            }
            let body = response.bytes().await.map_err(transport)?;
            Ok(Reply { status, body })
        })
    }
}

/// reqwest's top-level message is generic ("error sending request"); the cause chain says
/// what happened (connection refused, reset, DNS).
pub(crate) fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn transport(error: reqwest::Error) -> Failure {
    Failure::Transport(describe(&error))
}
