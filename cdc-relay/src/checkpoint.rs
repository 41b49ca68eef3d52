//! Which WAL position may be confirmed to PostgreSQL.
//!
//! The one place that enforces "nothing lost between WAL and Kafka": a transaction's end
//! LSN becomes confirmable only when every message of it, and of every transaction before
//! it, was acknowledged by the broker. Acknowledgements may arrive out of order (records
//! go to different partitions); confirmation only moves over the contiguous acknowledged
//! prefix.

use std::collections::VecDeque;

use pgwire_replication::Lsn;

/// A transaction seen in the stream, by its position in commit order.
pub type TxnSeq = u64;

#[derive(Debug)]
struct Pending {
    seq: TxnSeq,
    /// Set when the transaction's Commit was read.
    end_lsn: Option<Lsn>,
    /// Commit time (µs since the Unix epoch), for lag in seconds.
    commit_time_micros: i64,
    /// Messages enqueued but not yet acknowledged.
    outstanding: usize,
}

/// Tracks open and unacknowledged transactions in commit order.
#[derive(Debug)]
pub struct Checkpoint {
    pending: VecDeque<Pending>,
    next_seq: TxnSeq,
    confirmed: Lsn,
}

impl Checkpoint {
    /// Starts at the position PostgreSQL already has as confirmed.
    pub fn new(confirmed: Lsn) -> Self {
        Self {
            pending: VecDeque::new(),
            next_seq: 0,
            confirmed,
        }
    }

    /// The highest position safe to confirm.
    pub fn confirmed(&self) -> Lsn {
        self.confirmed
    }

    /// Whether nothing read from the stream awaits the broker (or its Commit).
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Commit time of the oldest unconfirmed transaction (µs since the Unix epoch).
    pub fn oldest_pending_commit_micros(&self) -> Option<i64> {
        self.pending.front().map(|p| p.commit_time_micros)
    }

    /// A transaction begins; its messages are registered under the returned sequence.
    pub fn begin(&mut self, commit_time_micros: i64) -> TxnSeq {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back(Pending {
            seq,
            end_lsn: None,
            commit_time_micros,
            outstanding: 0,
        });
        seq
    }

    /// One more message of transaction `seq` was handed to the broker.
    pub fn enqueued(&mut self, seq: TxnSeq) {
        if let Some(p) = self.find(seq) {
            p.outstanding += 1;
        }
    }

    /// Transaction `seq` committed at `end_lsn`. Returns whether `confirmed` advanced.
    pub fn commit(&mut self, seq: TxnSeq, end_lsn: Lsn) -> bool {
        if let Some(p) = self.find(seq) {
            p.end_lsn = Some(end_lsn);
        }
        self.advance()
    }

    /// The broker acknowledged one message of transaction `seq`. Returns whether
    /// `confirmed` advanced.
    pub fn acknowledged(&mut self, seq: TxnSeq) -> bool {
        if let Some(p) = self.find(seq) {
            p.outstanding = p.outstanding.saturating_sub(1);
        }
        self.advance()
    }

    /// With nothing pending, the server's keepalive position can be confirmed: the
    /// stream has delivered everything before it and none of it awaits the broker. This
    /// keeps a quiet outbox from pinning WAL that other tables write. Returns whether
    /// `confirmed` advanced.
    pub fn idle_at(&mut self, wal_end: Lsn) -> bool {
        if self.pending.is_empty() && wal_end > self.confirmed {
            self.confirmed = wal_end;
            true
        } else {
            false
        }
    }

    fn find(&mut self, seq: TxnSeq) -> Option<&mut Pending> {
        let front = self.pending.front()?.seq;
        let index = usize::try_from(seq.checked_sub(front)?).ok()?;
        self.pending.get_mut(index).filter(|p| p.seq == seq)
    }

    fn advance(&mut self) -> bool {
        let before = self.confirmed;
        while let Some(front) = self.pending.front() {
            match front.end_lsn {
                Some(end) if front.outstanding == 0 => {
                    self.confirmed = self.confirmed.max(end);
                    self.pending.pop_front();
                }
                _ => break,
            }
        }
        self.confirmed > before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lsn(n: u64) -> Lsn {
        Lsn::from(n)
    }

    #[test]
    fn confirms_only_the_contiguous_acknowledged_prefix() {
        let mut c = Checkpoint::new(lsn(10));
        let t1 = c.begin(0);
        c.enqueued(t1);
        c.enqueued(t1);
        assert!(!c.commit(t1, lsn(20)));
        let t2 = c.begin(0);
        c.enqueued(t2);
        assert!(!c.commit(t2, lsn(30)));

        // t2 is acknowledged first: nothing may be confirmed while t1 is outstanding.
        assert!(!c.acknowledged(t2));
        assert_eq!(c.confirmed(), lsn(10));
        assert!(!c.acknowledged(t1));
        assert_eq!(c.confirmed(), lsn(10));
        // The last message of t1 releases both.
        assert!(c.acknowledged(t1));
        assert_eq!(c.confirmed(), lsn(30));
        assert!(c.is_idle());
    }

    #[test]
    fn an_uncommitted_transaction_holds_confirmation_back() {
        let mut c = Checkpoint::new(lsn(0));
        let t1 = c.begin(0);
        c.enqueued(t1);
        assert!(!c.acknowledged(t1));
        assert_eq!(
            c.confirmed(),
            lsn(0),
            "acknowledged but its Commit not yet read"
        );
        assert!(c.commit(t1, lsn(5)));
        assert_eq!(c.confirmed(), lsn(5));
    }

    #[test]
    fn empty_transactions_confirm_at_commit() {
        let mut c = Checkpoint::new(lsn(0));
        let t = c.begin(0);
        assert!(c.commit(t, lsn(7)));
        assert_eq!(c.confirmed(), lsn(7));
    }

    #[test]
    fn keepalive_position_is_confirmed_only_when_idle() {
        let mut c = Checkpoint::new(lsn(100));
        assert!(c.idle_at(lsn(500)));
        assert_eq!(c.confirmed(), lsn(500));
        let t = c.begin(0);
        c.enqueued(t);
        c.commit(t, lsn(600));
        assert!(!c.idle_at(lsn(900)), "a message still awaits the broker");
        assert_eq!(c.confirmed(), lsn(500));
        assert!(!c.idle_at(lsn(400)), "never moves backwards");
    }

    #[test]
    fn oldest_pending_commit_time_is_reported() {
        let mut c = Checkpoint::new(lsn(0));
        assert_eq!(c.oldest_pending_commit_micros(), None);
        let t1 = c.begin(111);
        c.enqueued(t1);
        let _t2 = c.begin(222);
        assert_eq!(c.oldest_pending_commit_micros(), Some(111));
    }
}
