//! The end of a run: its figures, and whether the system did what it must.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use uuid::Uuid;

use super::mix::Kind;
use super::pace::Paced;
use crate::measure::percentile;

/// What a run did. [`Report::failures`] says what was wrong; its `Display` is the
/// summary `cargo dev load` prints.
#[derive(Debug, Clone)]
pub struct Report {
    /// The mix placed, described.
    pub mix: String,
    /// How long each accepted order had to end.
    pub deadline: Duration,
    /// How the pacing went.
    pub paced: Paced,
    /// Orders placed (answered).
    pub placed: usize,
    /// Orders accepted (201), with their kind, in the order they were answered.
    pub accepted: Vec<(Uuid, Kind)>,
    /// Orders not accepted, by what happened (`HTTP 503`, `connection refused`, ...).
    pub refused: BTreeMap<String, usize>,
    /// Orders that ended VALIDATED, as they had to.
    pub validated: usize,
    /// Orders that ended REJECTED for the reason they had to.
    pub rejected: usize,
    /// Orders that ended otherwise: what was expected and what came.
    pub wrong: Vec<String>,
    /// Accepted orders that did not end within the deadline.
    pub lost: Vec<Uuid>,
    /// Creation to outcome per ended order (commit to commit), ms, sorted.
    pub latencies_ms: Vec<i64>,
    /// `POST /v1/orders` response times, sorted.
    pub response_times: Vec<Duration>,
    /// From the start of the run to its end.
    pub took: Duration,
}

impl Report {
    /// What went wrong: an order refused (a 5xx, or any other answer than 201: every
    /// order of the mix is well-formed), an order lost, an order that ended wrongly.
    /// Empty if the system did everything it must.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        let refused: usize = self.refused.values().sum();
        if refused > 0 {
            failures.push(format!(
                "{refused} orders not accepted ({})",
                list(&self.refused)
            ));
        }
        if !self.lost.is_empty() {
            failures.push(format!(
                "{} orders lost (not VALIDATED or REJECTED within {:.0?}), e.g. {}",
                self.lost.len(),
                self.deadline,
                self.lost[0]
            ));
        }
        if !self.wrong.is_empty() {
            failures.push(format!(
                "{} orders ended wrongly, e.g. {}",
                self.wrong.len(),
                self.wrong[0]
            ));
        }
        failures
    }

    /// Whether the system did everything it must.
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The ids of the accepted orders of `kind`.
    pub fn accepted_of(&self, kind: Kind) -> Vec<Uuid> {
        self.accepted
            .iter()
            .filter(|(_, k)| *k == kind)
            .map(|(id, _)| *id)
            .collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refused: usize = self.refused.values().sum();
        let ms = |p: f64| percentile(&self.latencies_ms, p);
        let response = |p: f64| {
            percentile(&self.response_times, p)
                .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
                .unwrap_or_else(|| "-".into())
        };
        writeln!(
            f,
            "orders: {} placed in {:.1} s ({:.1}/s achieved, {} sent late); mix {}",
            self.placed,
            self.paced.sent_in.as_secs_f64(),
            self.paced.achieved_rate(),
            self.paced.late,
            self.mix
        )?;
        writeln!(
            f,
            "  accepted (201): {}; not accepted: {refused}{}",
            self.accepted.len(),
            if refused > 0 {
                format!(" ({})", list(&self.refused))
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "  ended: VALIDATED {}, REJECTED {} (each as its inputs dictate); wrong {}; \
             lost (not ended within {:.0?}) {}",
            self.validated,
            self.rejected,
            self.wrong.len(),
            self.deadline,
            self.lost.len()
        )?;
        writeln!(
            f,
            "  created -> ended (OrderCreated commit to outcome commit): {}",
            spread_ms(&[
                ("p50", ms(50.0)),
                ("p95", ms(95.0)),
                ("p99", ms(99.0)),
                ("max", ms(100.0))
            ])
        )?;
        writeln!(
            f,
            "  POST /v1/orders response time: p50 {}, p99 {}, max {}",
            response(50.0),
            response(99.0),
            response(100.0)
        )?;
        let failures = self.failures();
        if failures.is_empty() {
            write!(f, "PASS ({:.1} s)", self.took.as_secs_f64())
        } else {
            write!(f, "FAIL: {}", failures.join("; "))
        }
    }
}

/// `p50 41 ms, p99 120 ms` (`-` where there is no figure yet).
pub(crate) fn spread_ms(figures: &[(&str, Option<i64>)]) -> String {
    figures
        .iter()
        .map(|(name, ms)| match ms {
            Some(ms) => format!("{name} {ms} ms"),
            None => format!("{name} -"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `HTTP 503: 2, timed out: 1`.
fn list(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(why, n)| format!("{why}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
