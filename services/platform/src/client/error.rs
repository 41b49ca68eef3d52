//! What a call can end in, and the breaker states.

/// Why a call gave no usable answer. The caller decides the fallback from this.
///
/// `Timeout`, `Transport` and `Status` of 5xx are what the breaker counts as failures of
/// the target; `BreakerOpen` and `Bulkhead` are rejections that never touched the
/// network; a 4xx other than 404 and `Decode` mean the target answered (the breaker
/// counts them as successes) but not with something this caller can use.
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
    /// A 2xx answer whose body is not the expected JSON.
    #[error("cannot decode the answer: {0}")]
    Decode(String),
}

impl CallError {
    /// The `outcome` label this error is counted under in
    /// `ftgo_http_client_requests_total`; handy as a bounded log field too.
    pub fn outcome(&self) -> &'static str {
        match self {
            CallError::BreakerOpen => "breaker_open",
            CallError::Bulkhead => "bulkhead",
            CallError::Timeout => "timeout",
            CallError::Transport(_) => "transport",
            CallError::Status(_) => "status",
            CallError::Decode(_) => "decode",
        }
    }
}

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
    /// Value of the `ftgo_http_client_breaker_state` gauge.
    pub fn gauge_value(self) -> i64 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }

    /// Value of the `to` label of `ftgo_http_client_breaker_transitions_total`.
    pub fn label(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}
