//! The count-based sliding window that decides when a closed breaker opens.
//!
//! This is the one piece written here rather than taken from tower-resilience. Its
//! circuit breaker (0.13) documents a count-based window as "the last N calls", but keeps
//! cumulative counts since the last state change and evaluates only once that count
//! reaches the window size: after 1,000 healthy calls it would need another 1,000 failures
//! to open, and `minimum_number_of_calls` below the window size has no effect. Resilience4j
//! (whose model the book and our settings follow) keeps a ring of the last N outcomes and
//! evaluates from `minimum_calls` on. So the breaker's own trip is switched off and this
//! window opens it through `CircuitBreakerHandle::force_open`; admission, the open wait,
//! half-open trial calls and closing again stay with tower-resilience.

use std::collections::VecDeque;

use super::BreakerState;

/// The last `size` outcomes of calls admitted while closed, plus the breaker state and a
/// generation that changes on every transition.
///
/// The generation lets a call that was admitted before a transition (say, a slow call
/// still running when the breaker opened and closed again) be left out of the new
/// window: only outcomes of the current closed period count.
#[derive(Debug)]
pub(crate) struct Window {
    outcomes: VecDeque<bool>,
    failures: usize,
    size: usize,
    minimum: usize,
    threshold: f64,
    state: BreakerState,
    generation: u64,
}

impl Window {
    /// An empty window; `minimum` is capped at `size` (as Resilience4j does).
    pub(crate) fn new(size: usize, minimum: usize, threshold: f64) -> Self {
        Self {
            outcomes: VecDeque::with_capacity(size),
            failures: 0,
            size,
            minimum: minimum.min(size),
            threshold,
            state: BreakerState::Closed,
            generation: 0,
        }
    }

    /// The breaker state and generation, read together before a call.
    pub(crate) fn snapshot(&self) -> (BreakerState, u64) {
        (self.state, self.generation)
    }

    /// Called on every breaker transition: a new period starts with an empty window.
    pub(crate) fn transitioned(&mut self, to: BreakerState) {
        self.state = to;
        self.generation = self.generation.wrapping_add(1);
        self.outcomes.clear();
        self.failures = 0;
    }

    /// Records the outcome of a call admitted at `admitted` = (state, generation).
    /// Returns true when the breaker should open now.
    pub(crate) fn record(&mut self, admitted: (BreakerState, u64), failed: bool) -> bool {
        // Same generation means same state: this also drops calls admitted half-open.
        if admitted != (BreakerState::Closed, self.generation) {
            return false;
        }
        if self.outcomes.len() == self.size && self.outcomes.pop_front() == Some(true) {
            self.failures -= 1;
        }
        self.outcomes.push_back(failed);
        if failed {
            self.failures += 1;
        }
        let calls = self.outcomes.len();
        calls >= self.minimum && self.failures as f64 / calls as f64 >= self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLOSED: (BreakerState, u64) = (BreakerState::Closed, 0);

    #[test]
    fn no_verdict_before_the_minimum_number_of_calls() {
        let mut window = Window::new(10, 3, 0.5);
        assert!(!window.record(CLOSED, true));
        assert!(!window.record(CLOSED, true));
        assert!(window.record(CLOSED, true));
    }

    #[test]
    fn old_successes_leave_the_window() {
        let mut window = Window::new(4, 4, 0.5);
        for _ in 0..1000 {
            assert!(!window.record(CLOSED, false));
        }
        assert!(!window.record(CLOSED, true));
        assert!(
            window.record(CLOSED, true),
            "2 failures in the last 4 calls"
        );
    }

    #[test]
    fn old_failures_leave_the_window() {
        let mut window = Window::new(4, 4, 0.75);
        window.record(CLOSED, true);
        window.record(CLOSED, true);
        window.record(CLOSED, false);
        window.record(CLOSED, false);
        // [F F S S] -> [F S S S] -> [S S S F]: never three failures among the last four.
        assert!(!window.record(CLOSED, false));
        assert!(!window.record(CLOSED, false));
        assert!(!window.record(CLOSED, true));
    }

    #[test]
    fn minimum_is_capped_at_the_window_size() {
        let mut window = Window::new(2, 5, 1.0);
        assert!(!window.record(CLOSED, true));
        assert!(window.record(CLOSED, true));
    }

    #[test]
    fn outcomes_from_an_earlier_period_or_another_state_are_ignored() {
        let mut window = Window::new(2, 1, 0.5);
        window.transitioned(BreakerState::Open);
        window.transitioned(BreakerState::HalfOpen);
        window.transitioned(BreakerState::Closed);
        assert_eq!(window.snapshot(), (BreakerState::Closed, 3));
        assert!(
            !window.record(CLOSED, true),
            "admitted before the transitions"
        );
        assert!(!window.record((BreakerState::HalfOpen, 3), true));
        assert!(window.record((BreakerState::Closed, 3), true));
    }
}
