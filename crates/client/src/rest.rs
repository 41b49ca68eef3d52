//! REST over HTTP/1.1 with reqwest: `GET base_url + path`, JSON answers.

use bytes::Bytes;
use reqwest::header::{ACCEPT, HeaderValue};

use runtime::telemetry::TRACEPARENT;

use crate::transport::{CallFuture, Transport};
use crate::{CallError, Error, Result};

/// `GET base_url + path`: 2xx is the body, 404 "no such resource", any other status
/// [`CallError::Status`] (5xx a failure of the target, the rest not).
///
/// The body is read inside the call, so the time limiter bounds the whole exchange,
/// not just the headers.
#[derive(Debug, Clone)]
pub struct RestTransport {
    http: reqwest::Client,
    base_url: String,
}

impl RestTransport {
    /// A transport to `base_url` (`http://host:port`, a path prefix allowed); `target`
    /// names the dependency in errors.
    pub fn new(target: &str, base_url: &str) -> Result<Self> {
        let base_url = checked_url("base_url", target, base_url)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("ftgo-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::HttpClient(describe(&e)))?;
        Ok(Self { http, base_url })
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Transport for RestTransport {
    /// The path below `base_url`, e.g. `/v1/consumers/42`.
    type Request = String;
    /// The 2xx body.
    type Response = Bytes;
    const NAME: &'static str = "rest";

    fn call(&self, path: String, traceparent: Option<&str>) -> CallFuture<Bytes> {
        let url = format!("{}/{}", self.base_url, path.trim_start_matches('/'));
        let mut builder = self
            .http
            .get(url)
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(value) = traceparent.and_then(|v| HeaderValue::from_str(v).ok()) {
            builder = builder.header(TRACEPARENT, value);
        }
        Box::pin(async move {
            let response = builder.send().await.map_err(transport)?;
            match response.status().as_u16() {
                200..=299 => response.bytes().await.map(Some).map_err(transport),
                404 => Ok(None),
                status => Err(CallError::Status(status)),
            }
        })
    }
}

/// `http://host:port` (a path prefix is allowed), without a trailing slash; errors name
/// configuration key `key`. TLS is not compiled in (in-cluster plaintext), so the scheme
/// must be `http`.
pub fn checked_url(key: &str, target: &str, base_url: &str) -> Result<String> {
    let invalid = |reason: String| Error::config_key(key, format!("client for {target}: {reason}"));
    let url = reqwest::Url::parse(base_url).map_err(|e| invalid(format!("not a URL: {e}")))?;
    if url.scheme() != "http" {
        return Err(invalid(
            "scheme must be http (TLS is not compiled in)".into(),
        ));
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("expected http://host:port".into()));
    }
    Ok(base_url.trim_end_matches('/').to_owned())
}

/// An error's message with its cause chain: reqwest's and tonic's top-level messages are
/// generic ("error sending request", "transport error"); the causes say what happened
/// (connection refused, reset, DNS).
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn transport(error: reqwest::Error) -> CallError {
    CallError::Transport(describe(&error))
}
