//! The run's book: every order placed, joined with what `order.events` says happened to
//! it, checked against what its inputs dictate.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::fixtures::Fixtures;
use super::mix::{Kind, Outcome};
use super::pace::{Paced, Placement};
use super::report::{Report, spread_ms};
use super::track::{Seen, Step};
use crate::measure::percentile;

/// An order order-service accepted.
#[derive(Debug)]
struct Entry {
    kind: Kind,
    accepted_at: Instant,
    created_ms: Option<i64>,
    /// It ended (VALIDATED or REJECTED, right or wrong) within the deadline.
    ended: bool,
}

/// What the run knows so far.
#[derive(Debug)]
pub struct Book {
    fixtures: Fixtures,
    deadline: Duration,
    started: Instant,
    placed: usize,
    orders: HashMap<Uuid, Entry>,
    accepted: Vec<(Uuid, Kind)>,
    /// Steps of orders whose 201 has not come back yet (or that are not the run's).
    unclaimed: HashMap<Uuid, Vec<Seen>>,
    refused: BTreeMap<String, usize>,
    validated: usize,
    rejected: usize,
    wrong: Vec<String>,
    /// Ended after their deadline.
    late: Vec<Uuid>,
    latencies_ms: Vec<i64>,
    response_times: Vec<Duration>,
}

impl Book {
    /// An empty book for orders from `fixtures`, each of which must end within
    /// `deadline` of its acceptance.
    pub fn new(fixtures: Fixtures, deadline: Duration) -> Self {
        Self {
            fixtures,
            deadline,
            started: Instant::now(),
            placed: 0,
            orders: HashMap::new(),
            accepted: Vec::new(),
            unclaimed: HashMap::new(),
            refused: BTreeMap::new(),
            validated: 0,
            rejected: 0,
            wrong: Vec::new(),
            late: Vec::new(),
            latencies_ms: Vec::new(),
            response_times: Vec::new(),
        }
    }

    /// Notes an order placed (answered).
    pub fn placed(&mut self, placement: &Placement) {
        self.placed += 1;
        self.response_times.push(placement.exchange.response_time);
        let Some(id) = placement.accepted() else {
            if let super::client::Answer::Refused(why) = &placement.exchange.answer {
                *self.refused.entry(why.clone()).or_default() += 1;
            }
            return;
        };
        self.accepted.push((id, placement.kind));
        self.orders.insert(
            id,
            Entry {
                kind: placement.kind,
                accepted_at: Instant::now(),
                created_ms: None,
                ended: false,
            },
        );
        for seen in self.unclaimed.remove(&id).unwrap_or_default() {
            self.seen(seen);
        }
    }

    /// Notes a step read from `order.events`.
    pub fn seen(&mut self, seen: Seen) {
        let Some(entry) = self.orders.get_mut(&seen.order) else {
            self.unclaimed.entry(seen.order).or_default().push(seen);
            return;
        };
        let got = match &seen.step {
            Step::Created => {
                entry.created_ms.get_or_insert(seen.at_ms);
                return;
            }
            // A record delivered twice (a relay re-publishing after a crash) ends
            // nothing twice.
            _ if entry.ended => return,
            Step::Validated => "VALIDATED".to_owned(),
            Step::Rejected(payload) => {
                format!("REJECTED ({})", String::from_utf8_lossy(payload))
            }
        };
        entry.ended = true;
        if entry.accepted_at.elapsed() > self.deadline {
            self.late.push(seen.order);
        }
        if let Some(created) = entry.created_ms {
            self.latencies_ms.push(seen.at_ms - created);
        }
        let expected = self.fixtures.outcome(entry.kind);
        let right = match (&expected, &seen.step) {
            (Outcome::Validated, Step::Validated) => true,
            // The reason is a UTF-8 string field in JSON and in Protobuf payloads alike,
            // so finding it in the bytes checks it without decoding either.
            (Outcome::Rejected(reason), Step::Rejected(payload)) => payload
                .windows(reason.len())
                .any(|w| w == reason.as_bytes()),
            _ => false,
        };
        match (right, &seen.step) {
            (true, Step::Validated) => self.validated += 1,
            (true, _) => self.rejected += 1,
            (false, _) => self.wrong.push(format!(
                "order {} ({}): expected {expected:?}, got {got}",
                seen.order, entry.kind
            )),
        }
    }

    /// Accepted orders neither ended nor past their deadline: what is still worth
    /// waiting for.
    pub fn awaited(&self) -> usize {
        self.orders
            .values()
            .filter(|e| !e.ended && e.accepted_at.elapsed() <= self.deadline)
            .count()
    }

    /// Where the run is now.
    pub fn snapshot(&self) -> Snapshot {
        let mut latencies = self.latencies_ms.clone();
        latencies.sort_unstable();
        Snapshot {
            elapsed: self.started.elapsed(),
            placed: self.placed,
            accepted: self.orders.len(),
            validated: self.validated,
            rejected: self.rejected,
            wrong: self.wrong.len(),
            refused: self.refused.values().sum(),
            overdue: self.lost().len(),
            p50_ms: percentile(&latencies, 50.0),
            p99_ms: percentile(&latencies, 99.0),
        }
    }

    /// Orders not ended within their deadline (so far).
    fn lost(&self) -> Vec<Uuid> {
        let mut lost: Vec<Uuid> = self
            .orders
            .iter()
            .filter(|(_, e)| !e.ended && e.accepted_at.elapsed() > self.deadline)
            .map(|(id, _)| *id)
            .collect();
        lost.extend(&self.late);
        lost.sort_unstable();
        lost
    }

    /// The report of the run, once it is over.
    pub fn report(mut self, mix: String, paced: Paced) -> Report {
        self.latencies_ms.sort_unstable();
        self.response_times.sort_unstable();
        let lost = self.lost();
        Report {
            mix,
            deadline: self.deadline,
            paced,
            placed: self.placed,
            accepted: self.accepted,
            refused: self.refused,
            validated: self.validated,
            rejected: self.rejected,
            wrong: self.wrong,
            lost,
            latencies_ms: self.latencies_ms,
            response_times: self.response_times,
            took: self.started.elapsed(),
        }
    }
}

/// Where a run is: `cargo dev load` prints one every second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Since the run started.
    pub elapsed: Duration,
    /// Orders placed (answered).
    pub placed: usize,
    /// Of which accepted (201).
    pub accepted: usize,
    /// Accepted orders that ended VALIDATED, as they had to.
    pub validated: usize,
    /// Accepted orders that ended REJECTED for the reason they had to.
    pub rejected: usize,
    /// Accepted orders that ended otherwise.
    pub wrong: usize,
    /// Orders not accepted.
    pub refused: usize,
    /// Accepted orders past their deadline.
    pub overdue: usize,
    /// Creation to outcome, median, ms.
    pub p50_ms: Option<i64>,
    /// Creation to outcome, 99th percentile, ms.
    pub p99_ms: Option<i64>,
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ended = self.validated + self.rejected + self.wrong;
        write!(
            f,
            "{:>4} s  placed {}  accepted {}  ended {} (VALIDATED {}, REJECTED {})  \
             created->ended {}  errors {}",
            self.elapsed.as_secs(),
            self.placed,
            self.accepted,
            ended,
            self.validated,
            self.rejected,
            spread_ms(&[("p50", self.p50_ms), ("p99", self.p99_ms)]),
            self.refused + self.wrong + self.overdue
        )?;
        if self.wrong + self.overdue > 0 {
            write!(f, " (wrong {}, overdue {})", self.wrong, self.overdue)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::{Answer, Exchange};
    use super::super::mix::Mix;
    use super::*;

    fn placement(n: usize, kind: Kind, answer: Answer) -> Placement {
        Placement {
            n,
            kind,
            key: format!("key-{n}"),
            exchange: Exchange {
                answer,
                sent_ms: 0,
                answered_ms: 1,
                response_time: Duration::from_millis(1),
            },
        }
    }

    fn seen(order: Uuid, step: Step, at_ms: i64) -> Seen {
        Seen { order, step, at_ms }
    }

    #[test]
    fn outcomes_are_checked_against_the_inputs_and_their_reasons() {
        let fixtures = Fixtures::made_up();
        let mut book = Book::new(fixtures, Duration::from_secs(60));
        let ids: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
        // Steps may be read before the 201 is: they wait for it.
        book.seen(seen(ids[0], Step::Created, 1_000));
        book.seen(seen(ids[0], Step::Validated, 1_040));
        book.placed(&placement(0, Kind::Valid, Answer::Accepted(ids[0])));
        let kinds = [Kind::OffMenu, Kind::OverLimit, Kind::Valid];
        for (n, kind) in kinds.into_iter().enumerate() {
            book.placed(&placement(n + 1, kind, Answer::Accepted(ids[n + 1])));
            book.seen(seen(ids[n + 1], Step::Created, 2_000));
        }
        let off_menu = br#"{"reason":"menu item pizza not on the menu"}"#.to_vec();
        book.seen(seen(ids[1], Step::Rejected(off_menu), 2_100));
        // Rejected, but for another reason than its input's.
        let other = br#"{"reason":"consumer x not found"}"#.to_vec();
        book.seen(seen(ids[2], Step::Rejected(other), 2_200));
        // A good order rejected; then its outcome delivered again, which changes nothing.
        let late = br#"{"reason":"validation deadline passed"}"#.to_vec();
        book.seen(seen(ids[3], Step::Rejected(late.clone()), 2_300));
        book.seen(seen(ids[3], Step::Rejected(late), 2_300));
        book.placed(&placement(
            4,
            Kind::Valid,
            Answer::Refused("HTTP 503".into()),
        ));
        assert_eq!(book.awaited(), 0);

        let report = book.report(Mix::standard().to_string(), Paced::default());
        assert_eq!((report.validated, report.rejected), (1, 1));
        assert_eq!(report.wrong.len(), 2, "{:#?}", report.wrong);
        assert!(
            report.wrong[1].contains("expected Validated"),
            "{:?}",
            report.wrong
        );
        assert_eq!(report.latencies_ms, [40, 100, 200, 300]);
        assert_eq!(report.refused, BTreeMap::from([("HTTP 503".to_owned(), 1)]));
        assert!(report.lost.is_empty());
        let failures = report.failures();
        assert_eq!(failures.len(), 2, "{failures:?}");
        assert!(failures[0].starts_with("1 orders not accepted (HTTP 503: 1)"));
        assert!(failures[1].starts_with("2 orders ended wrongly"));
        assert!(report.to_string().contains("\nFAIL: 1 orders not accepted"));
    }

    #[test]
    fn an_order_not_ended_within_its_deadline_is_lost_and_a_clean_run_passes() {
        let fixtures = Fixtures::made_up();
        let (lost, fine) = (Uuid::now_v7(), Uuid::now_v7());
        let mut book = Book::new(fixtures, Duration::ZERO);
        book.placed(&placement(0, Kind::Valid, Answer::Accepted(lost)));
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(book.awaited(), 0, "past its deadline: not waited for");
        let report = book.report(String::new(), Paced::default());
        assert_eq!(report.lost, [lost]);
        assert!(!report.passed());

        let mut book = Book::new(fixtures, Duration::from_secs(60));
        book.placed(&placement(0, Kind::Valid, Answer::Accepted(fine)));
        assert_eq!(book.awaited(), 1);
        book.seen(seen(fine, Step::Validated, 5));
        let snapshot = book.snapshot();
        assert_eq!((snapshot.accepted, snapshot.validated), (1, 1));
        let report = book.report(String::new(), Paced::default());
        assert!(report.passed(), "{report}");
        assert!(report.to_string().contains("\nPASS"), "{report}");
    }
}
