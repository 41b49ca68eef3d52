//! When to start a crashed process again: the restart back-off of a Kubernetes pod.

use std::time::Duration;

/// Restart delays after crashes in a row, as the kubelet applies them to a pod's
/// containers (there 10 s doubling to 5 minutes; shorter here, where a developer waits):
/// [`Self::first`] after the first crash, doubling up to [`Self::max`]. A process that
/// ran [`Self::reset_after`] before it crashed counts as recovered, and starts from the
/// first delay again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after a first crash.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// How long a process must run for its next crash to count as a first one again.
    pub reset_after: Duration,
    /// From this many crashes in a row on, a process is reported as crash-looping
    /// (Kubernetes' `CrashLoopBackOff`): a restart alone will not fix it.
    pub crash_loop_after: u32,
}

impl Default for Backoff {
    /// 1 s, 2 s, 4 s … at most 30 s; reset after 60 s of running; crash-looping from
    /// the third crash in a row.
    fn default() -> Self {
        Self {
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
            reset_after: Duration::from_secs(60),
            crash_loop_after: 3,
        }
    }
}

impl Backoff {
    /// The wait before the next start after the `crashes`-th crash in a row (from 1).
    pub fn delay(&self, crashes: u32) -> Duration {
        let doublings = crashes.saturating_sub(1).min(31);
        self.first.saturating_mul(1 << doublings).min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_from_one_second_up_to_thirty() {
        let backoff = Backoff::default();
        let delays: Vec<u64> = (1..=8).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff.delay(1_000), Duration::from_secs(30));
    }
}
