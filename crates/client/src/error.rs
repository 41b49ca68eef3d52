//! What a call can end in, and the breaker states.

/// Why a call gave no usable answer. The caller decides the fallback from this.
///
/// [`CallError::is_failure`] says which ones the breaker counts as failures of the target:
/// `Timeout`, `Transport`, a 5xx `Status` and the `Grpc` codes that map to 5xx.
/// `BreakerOpen` and `Bulkhead` are rejections that never touched the network; other
/// statuses and `Decode` mean the target answered (the breaker counts them as successes)
/// but not with something this caller can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The breaker is open (or its half-open trial calls are taken): rejected without a
    /// request, so a failing target is not hammered and the caller answers at once.
    #[error("circuit breaker open: call not attempted")]
    BreakerOpen,
    /// `max_in_flight` calls to this target are already running: rejected at once.
    #[error("too many calls in flight to this target")]
    Bulkhead,
    /// No complete answer within `timeout_ms`.
    #[error("no answer within the timeout")]
    Timeout,
    /// Connecting, sending or reading failed (refused, reset, DNS, bad URL).
    #[error("transport: {0}")]
    Transport(String),
    /// A status other than 2xx and 404: 5xx (a failure of the target) or another 4xx /
    /// 3xx (a wrong request; the target is fine).
    #[error("unexpected status {0}")]
    Status(u16),
    /// A gRPC status other than OK and NOT_FOUND: one mapping to HTTP 5xx (UNAVAILABLE,
    /// DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS) is a failure of the
    /// target; another (INVALID_ARGUMENT, ...) a refused request.
    ///
    /// The code is gRPC's number (`tonic::Code as i32`), so that this crate does not
    /// link a gRPC library; the transport that speaks gRPC fills it in.
    #[error("gRPC status {code} ({description})")]
    Grpc {
        /// The status code's number.
        code: i32,
        /// Its description, e.g. "The service is currently unavailable".
        description: &'static str,
    },
    /// A 2xx answer whose body is not the expected JSON (or a gRPC answer missing its
    /// message).
    #[error("cannot decode the answer: {0}")]
    Decode(String),
}

impl CallError {
    /// The `outcome` label this error is counted under in
    /// `ftgo_client_calls_total`; handy as a bounded log field too.
    pub fn outcome(&self) -> &'static str {
        match self {
            CallError::BreakerOpen => "breaker_open",
            CallError::Bulkhead => "bulkhead",
            CallError::Timeout => "timeout",
            CallError::Transport(_) => "transport",
            CallError::Status(_) | CallError::Grpc { .. } => "status",
            CallError::Decode(_) => "decode",
        }
    }
}

impl CallError {
    /// Whether this outcome shows the target failing, so that the breaker counts it —
    /// one rule for every transport. REST: timeouts, transport errors, 5xx. gRPC: the
    /// same, with the codes whose HTTP equivalent in gRPC's status-code mapping is 5xx.
    /// A 404 / NOT_FOUND is never an error at all (the answer "none").
    pub fn is_failure(&self) -> bool {
        match self {
            CallError::Timeout | CallError::Transport(_) => true,
            CallError::Status(status) => *status >= 500,
            CallError::Grpc { code, .. } => GRPC_FAILURE_CODES.contains(code),
            CallError::BreakerOpen | CallError::Bulkhead | CallError::Decode(_) => false,
        }
    }
}

/// The gRPC codes whose HTTP equivalent (gRPC's status-code mapping) is 5xx: UNKNOWN 2,
/// DEADLINE_EXCEEDED 4, UNIMPLEMENTED 12, INTERNAL 13, UNAVAILABLE 14, DATA_LOSS 15.
const GRPC_FAILURE_CODES: [i32; 6] = [2, 4, 12, 13, 14, 15];

/// Circuit breaker state, as Resilience4j names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through; outcomes fill the sliding window.
    Closed,
    /// Calls are rejected with [`CallError::BreakerOpen`] until `open_wait_ms` has passed
    /// (the state reads `Open` until the first call after that).
    Open,
    /// Up to `half_open_calls` trial calls go through; all succeeding closes the breaker,
    /// one failing opens it again.
    HalfOpen,
}

impl BreakerState {
    /// Value of the `ftgo_client_breaker_state` gauge.
    pub fn gauge_value(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }

    /// Value of the `to` label of `ftgo_client_breaker_transitions_total`.
    pub fn label(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// What can go wrong building a client (a call's outcome is a [`CallError`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A client setting is missing or not of the right shape (`runtime::Error::ConfigKey`,
    /// naming the key, like every configuration error).
    #[error(transparent)]
    Config(#[from] runtime::Error),

    /// The HTTP client library refused to build a client.
    #[error("http client: {0}")]
    HttpClient(String),

    /// The client's metrics could not be registered (a second client for one target).
    #[error("client metrics: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// Result with the client [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A client setting `key` that is missing or not of the right shape, and why.
    pub fn config_key(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Config(runtime::Error::ConfigKey {
            key: key.into(),
            reason: reason.into(),
        })
    }
}
