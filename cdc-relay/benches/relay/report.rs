//! The report of the main phases: `relay/limit ratio: R`, then a markdown block for
//! docs/benchmarks.md (the Debezium phase adds its lines at the block's end).

use std::fmt::Write as _;

use cdc_relay::config::RelayOptions;
use ftgo_harness::measure::{Machine, RoundsTable, median};

use crate::drain::RelayDrain;
use crate::steady::{PostgresLimit, Steady};
use crate::yardsticks::{RawProduce, Recvlogical};
use crate::{AGGREGATES, MIB, PARTITIONS, PAYLOAD_BYTES, PER_TXN, POLLING_SERVICE, RELAY_ENV};
use crate::{STEADY_WRITERS, relay_env};

const RATIO_TARGET: f64 = 0.9;
/// Commit -> broker ack p99 at PostgreSQL's limit (issue 18).
const P99_TARGET_MS: f64 = 10.0;
/// The relay's RSS under load (issue 18).
const RSS_TARGET_MIB: f64 = 48.0;

/// Everything the main phases measured.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// `date -u` at the start.
    pub(crate) date: String,
    pub(crate) machine: Machine,
    /// PostgreSQL's `server_version`.
    pub(crate) postgres: String,
    /// The broker, as the harness installed it.
    pub(crate) kafka: String,
    pub(crate) backlog: Backlog,
    pub(crate) rounds: Vec<Round>,
    /// The steady load at `STEADY_RATE`.
    pub(crate) steady: Steady,
    /// pgbench's rate of the same outbox transaction.
    pub(crate) limit: PostgresLimit,
    /// The steady load at that rate.
    pub(crate) at_limit: Steady,
    /// The polling relay's drains of the same backlog, one per round.
    pub(crate) polling: Vec<RelayDrain>,
    pub(crate) total_seconds: f64,
}

/// How the backlog was written.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    pub(crate) rows: usize,
    pub(crate) transactions: usize,
    pub(crate) writers: usize,
    pub(crate) seconds: f64,
    pub(crate) wal_bytes: u64,
    pub(crate) end_lsn: String,
}

/// A row of the drain table: its label, a round's figure, and the decimals shown.
type Figure = (&'static str, fn(&Round) -> f64, usize);

/// One round of the three drains.
#[derive(Debug, Default)]
pub(crate) struct Round {
    pub(crate) a: Recvlogical,
    pub(crate) b: RawProduce,
    pub(crate) c: RelayDrain,
    /// The compared relay's drain (`FTGO_BENCH_COMPARE_RELAY`), when one is named.
    pub(crate) c2: Option<RelayDrain>,
}

impl Round {
    /// The slower of the two yardsticks, in rows/s.
    fn limit(&self) -> f64 {
        self.a
            .rate
            .rows_per_second()
            .min(self.b.rate.rows_per_second())
    }

    /// The relay's drain over the slower yardstick.
    fn ratio(&self) -> f64 {
        self.c.rate.rows_per_second() / self.limit()
    }
}

impl Report {
    /// The report: `relay/limit ratio: R`, then the markdown block.
    pub(crate) fn render(&self) -> String {
        let m = &self.machine;
        let b = &self.backlog;
        let s = &self.steady;
        let rounds = &self.rounds;
        let ratio = median(&rounds.iter().map(Round::ratio).collect::<Vec<_>>());
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        let mut out = String::new();
        let _ = writeln!(out, "relay/limit ratio: {ratio:.2}");
        let _ = writeln!(out, "commit->ack p99 ms: {:.1}", self.at_limit.p99_ms);
        let _ = writeln!(
            out,
            "  (at {} tx/s: PostgreSQL's limit with the outbox transaction, {:.0} tx/s by \
             pgbench in this run; at {} tx/s: {:.1} ms)",
            self.at_limit.rate, self.limit.run.tps, self.steady.rate, self.steady.p99_ms
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "```text");
        let extra = relay_env();
        if extra.is_empty() {
            let _ = writeln!(out, "command:  cargo bench -p cdc-relay --bench relay");
        } else {
            let pairs: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                out,
                "command:  {RELAY_ENV}={} cargo bench -p cdc-relay --bench relay",
                pairs.join(",")
            );
        }
        let _ = writeln!(out, "date:     {}", self.date);
        let _ = writeln!(
            out,
            "machine:  {} cores, {}, {:.1} GiB RAM",
            m.cores, m.cpu, m.memory_gib
        );
        let _ = writeln!(
            out,
            "software: PostgreSQL {} (fsync=on), {}",
            self.postgres, self.kafka
        );
        let _ = writeln!(
            out,
            "backlog:  {} outbox rows in {} transactions of {PER_TXN}, {PAYLOAD_BYTES}-byte JSON \
             payloads, {AGGREGATES} keys, {PARTITIONS} partitions",
            b.rows, b.transactions
        );
        let _ = writeln!(
            out,
            "          written by {} connections through outbox::append in {:.1} s \
             ({:.0} tx/s, {:.0} rows/s); {:.1} MiB of WAL up to {}",
            b.writers,
            b.seconds,
            b.transactions as f64 / b.seconds,
            b.rows as f64 / b.seconds,
            b.wal_bytes as f64 / MIB,
            b.end_lsn
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "drain of the backlog, rows/s ({} rounds, each runs (a), (b), (c) in turn)",
            rounds.len()
        );
        let table = RoundsTable { width: 40 };
        table.header(&mut out, rounds.len());
        let figures: [Figure; 7] = [
            (
                "(a) pg_recvlogical, same publication",
                |r| r.a.rate.rows_per_second(),
                0,
            ),
            (
                "(b) raw rdkafka produce, relay settings",
                |r| r.b.rate.rows_per_second(),
                0,
            ),
            (
                "(c) cdc-relay, ready -> all acknowledged",
                |r| r.c.rate.rows_per_second(),
                0,
            ),
            (
                "(c') cdc-relay, after its first ack",
                |r| r.c.rate_after_first_ack.rows_per_second(),
                0,
            ),
            ("first ack after ready, s", |r| r.c.first_ack_seconds, 2),
            ("relay / min(a, b)", Round::ratio, 2),
            (
                "CPU s of other processes during (c)",
                |r| r.c.cpu.other(),
                2,
            ),
        ];
        for (label, figure, digits) in figures {
            let values: Vec<f64> = rounds.iter().map(figure).collect();
            table.row(&mut out, label, &values, digits);
        }
        let _ = writeln!(
            out,
            "  relay/limit ratio: {ratio:.2} (median of the rounds' ratios; target >= {RATIO_TARGET}: {})",
            verdict(ratio >= RATIO_TARGET)
        );
        let max_rss = rounds.iter().map(|r| r.c.max_rss_kib).max().unwrap_or(0);
        let _ = writeln!(
            out,
            "  relay max RSS while draining: {:.1} MiB",
            max_rss as f64 / 1024.0
        );
        for (n, r) in rounds.iter().enumerate() {
            let _ = writeln!(out, "  round {}:", n + 1);
            let _ = writeln!(
                out,
                "    (a) {}; max RSS {:.1} MiB; slot confirmed {}",
                r.a.rate,
                r.a.max_rss_kib as f64 / 1024.0,
                r.a.confirmed
            );
            let _ = writeln!(out, "        CPU {}", r.a.cpu);
            let _ = writeln!(out, "    (b) {}", r.b.rate);
            let _ = writeln!(out, "        CPU {}", r.b.cpu);
            let _ = writeln!(
                out,
                "    (c) {}; ready {:.3} s after spawn ({:.0} published by then, not counted); \
                 from spawn {}",
                r.c.rate, r.c.ready_seconds, r.c.published_at_ready, r.c.rate_from_spawn
            );
            let _ = writeln!(
                out,
                "        first acknowledgement seen {:.3} s after ready; from then on {}",
                r.c.first_ack_seconds, r.c.rate_after_first_ack
            );
            let _ = writeln!(
                out,
                "        max RSS {:.1} MiB; in flight (max {}) mean {:.0}, most {:.0}; \
                 sessions {}, dead-lettered {}",
                r.c.max_rss_kib as f64 / 1024.0,
                RelayOptions::default().max_in_flight,
                r.c.in_flight_mean,
                r.c.in_flight_max,
                r.c.sessions,
                r.c.dead_lettered
            );
            let _ = writeln!(out, "        CPU {}", r.c.cpu);
            let threads: Vec<String> =
                r.c.threads
                    .iter()
                    .take(6)
                    .map(|(name, s)| format!("{name} {s:.2} s"))
                    .collect();
            let _ = writeln!(out, "        relay threads: {}", threads.join(", "));
        }
        self.render_compared(&mut out);
        render_steady(&mut out, s);
        let l = &self.limit;
        let _ = writeln!(
            out,
            "PostgreSQL's limit with this outbox transaction: pgbench -M extended -c {} -j 2 \
             -T {} (BEGIN, outbox::append's SQL of one message, COMMIT; the relay publishing): \
             {:.0} tx/s ({} transactions, latency avg {:.2} ms, {} failed)",
            l.clients, l.seconds, l.run.tps, l.run.transactions, l.run.latency_ms, l.run.failed
        );
        render_steady(&mut out, &self.at_limit);
        self.render_polling(&mut out);
        let _ = writeln!(out, "total bench time {:.0} s", self.total_seconds);
        let _ = writeln!(out, "```");
        out
    }
}

impl Report {
    /// (c) against (c2), the other relay build, when every round ran one: rates and the
    /// relay's own CPU over the same backlog, side by side.
    fn render_compared(&self, out: &mut String) {
        let pairs: Vec<(&RelayDrain, &RelayDrain)> = self
            .rounds
            .iter()
            .filter_map(|r| r.c2.as_ref().map(|c2| (&r.c, c2)))
            .collect();
        if pairs.is_empty() || pairs.len() != self.rounds.len() {
            return;
        }
        let relay_cpu = |d: &RelayDrain| d.cpu.get("relay");
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "compared relay (c2), {} = {} (even rounds before (c), odd ones after)",
            crate::COMPARE_RELAY,
            crate::compare_relay().unwrap_or_default().display()
        );
        let table = RoundsTable { width: 40 };
        table.header(out, pairs.len());
        let rows: [(&str, Vec<f64>, usize); 4] = [
            (
                "(c) this build, rows/s",
                pairs.iter().map(|p| p.0.rate.rows_per_second()).collect(),
                0,
            ),
            (
                "(c2) compared build, rows/s",
                pairs.iter().map(|p| p.1.rate.rows_per_second()).collect(),
                0,
            ),
            (
                "(c) relay CPU s",
                pairs.iter().map(|p| relay_cpu(p.0)).collect(),
                2,
            ),
            (
                "(c2) relay CPU s",
                pairs.iter().map(|p| relay_cpu(p.1)).collect(),
                2,
            ),
        ];
        for (label, values, digits) in &rows {
            table.row(out, label, values, *digits);
        }
        let rate = median(
            &pairs
                .iter()
                .map(|p| p.0.rate.rows_per_second() / p.1.rate.rows_per_second())
                .collect::<Vec<_>>(),
        );
        let cpu = median(
            &pairs
                .iter()
                .map(|p| relay_cpu(p.0) / relay_cpu(p.1).max(f64::EPSILON))
                .collect::<Vec<_>>(),
        );
        let rss = |d: &RelayDrain| d.max_rss_kib as f64 / 1024.0;
        let _ = writeln!(
            out,
            "  (c)/(c2) drain ratio: {rate:.2}; relay CPU ratio: {cpu:.2} (medians of the \
             rounds'); max RSS {:.1} vs {:.1} MiB",
            pairs.iter().map(|p| rss(p.0)).fold(0.0, f64::max),
            pairs.iter().map(|p| rss(p.1)).fold(0.0, f64::max)
        );
        for (n, (_, c2)) in pairs.iter().enumerate() {
            let _ = writeln!(out, "  round {} (c2): {}; CPU {}", n + 1, c2.rate, c2.cpu);
        }
    }
}

/// One steady phase's lines.
fn render_steady(out: &mut String, s: &Steady) {
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "steady load: 1 message per transaction, paced at {} tx/s by {STEADY_WRITERS} connections",
        s.rate
    );
    let _ = writeln!(
        out,
        "  achieved {:.0} tx/s ({} transactions in {:.2} s); client commit duration \
         p50 {:.2} ms, p99 {:.2} ms",
        s.transactions as f64 / s.seconds,
        s.transactions,
        s.seconds,
        s.commit_p50_ms,
        s.commit_p99_ms
    );
    let _ = writeln!(
        out,
        "  commit -> broker ack (ftgo_relay_commit_to_ack_seconds, {} observations; p50/p99 \
         interpolated linearly within histogram buckets):",
        s.observed
    );
    let _ = writeln!(
        out,
        "    p50 {:.1} ms, p99 {:.1} ms (bucket {}-{} ms), mean {:.1} ms (exact, from \
         _sum/_count); target p99 <= {P99_TARGET_MS} ms: {}",
        s.p50_ms,
        s.p99_ms,
        s.p99_bucket.0,
        s.p99_bucket.1,
        s.mean_ms,
        verdict(s.p99_ms <= P99_TARGET_MS)
    );
    let _ = writeln!(
        out,
        "    of which commit -> the relay reading the transaction \
         (ftgo_relay_commit_to_read_seconds: the commit's WAL flush, decoding, sending): \
         p50 {:.1} ms, p99 {:.1} ms, mean {:.1} ms",
        s.read_ms.0, s.read_ms.1, s.read_ms.2
    );
    let _ = writeln!(
        out,
        "    the broker's GC pauses meanwhile (its -Xlog:gc): {}",
        s.broker_gc
    );
    let _ = writeln!(
        out,
        "  relay max RSS {:.1} MiB ({} samples every 100 ms; {:.1} MiB when the phase \
         began); target <= {RSS_TARGET_MIB} MiB: {}",
        s.max_rss_kib as f64 / 1024.0,
        s.rss_samples,
        s.rss_at_start_kib as f64 / 1024.0,
        verdict(s.max_rss_kib as f64 / 1024.0 <= RSS_TARGET_MIB)
    );
    let _ = writeln!(out, "  CPU {}", s.cpu);
}

impl Report {
    /// Both modes side by side over the same backlog, then the polling rounds' details.
    fn render_polling(&self, out: &mut String) {
        let p = &self.polling;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "relay modes over the same backlog, rows/s, ready -> all acknowledged (polling: \
             backlog rewritten into {POLLING_SERVICE}'s outbox before each round, \
             default batch 1000, interval 100 ms)"
        );
        let table = RoundsTable { width: 40 };
        table.header(out, p.len().max(self.rounds.len()));
        let log_tailing: Vec<f64> = self
            .rounds
            .iter()
            .map(|r| r.c.rate.rows_per_second())
            .collect();
        table.row(out, "log_tailing (c)", &log_tailing, 0);
        let polling: Vec<f64> = p.iter().map(|d| d.rate.rows_per_second()).collect();
        table.row(out, "polling (p)", &polling, 0);
        for (n, d) in p.iter().enumerate() {
            let _ = writeln!(
                out,
                "  polling round {}: {}; ready {:.3} s after spawn; first ack {:.3} s after \
                 ready; max RSS {:.1} MiB; sessions {}",
                n + 1,
                d.rate,
                d.ready_seconds,
                d.first_ack_seconds,
                d.max_rss_kib as f64 / 1024.0,
                d.sessions
            );
            let _ = writeln!(out, "        CPU {}", d.cpu);
        }
    }
}
