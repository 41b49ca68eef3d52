//! The report: every figure as a markdown block (docs/benchmarks.md quotes its lines),
//! then where the CPU went and `top` during each run.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use ftgo_harness::measure::{command_line, machine, percentile};

use crate::latency::{Latency, Paced};
use crate::pgbench::PgbenchResult;
use crate::system::Observed;
use crate::wrk::{Drain, WrkResult};
use crate::{PACED, PACED_IN_FLIGHT, PACED_RATE, SETTLE_LIMIT, THROUGHPUT};

/// `p50 …, p95 …, p99 …, max …` of sorted milliseconds.
fn spread(sorted: &[i64]) -> String {
    let ms = |v: Option<i64>| v.map_or("-".into(), |v| format!("{v} ms"));
    format!(
        "p50 {}, p95 {}, p99 {}, max {}",
        ms(percentile(sorted, 50.0)),
        ms(percentile(sorted, 95.0)),
        ms(percentile(sorted, 99.0)),
        ms(sorted.last().copied())
    )
}

/// Every figure of the run.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) clients: u32,
    pub(crate) quiet: bool,
    pub(crate) extra_env: String,
    pub(crate) idle_latency: Latency,
    pub(crate) start_up: Duration,
    pub(crate) pgbench: PgbenchResult,
    pub(crate) wrk: WrkResult,
    pub(crate) ratio: f64,
    pub(crate) drain: Drain,
    pub(crate) paced: Paced,
    pub(crate) latency: Latency,
    pub(crate) rss_started: Vec<(String, u64)>,
    pub(crate) rss_idle: Vec<(String, u64)>,
    pub(crate) rss_loaded: Vec<(String, u64)>,
}

impl Report {
    /// The figures as a markdown block, then the CPU tables and `top` of each run.
    pub(crate) fn markdown(&self) -> String {
        let mut o = String::new();
        let (pg, wrk, lat, paced) = (&self.pgbench, &self.wrk, &self.latency, &self.paced);
        let _ = writeln!(o, "```text");
        let _ = writeln!(o, "date:    {}", command_line("date", &["-u"]));
        let _ = writeln!(o, "machine: {}", machine());
        let _ = writeln!(
            o,
            "         {}; {}; {}",
            command_line(
                &ftgo_harness::prereqs::postgres_bin_dir()
                    .map(|d| d.join("postgres"))
                    .unwrap_or_else(|_| PathBuf::from("postgres"))
                    .display()
                    .to_string(),
                &["--version"]
            ),
            command_line("wrk", &["--version"])
                .lines()
                .next()
                .unwrap_or_default()
                .split(" Copyright")
                .next()
                .unwrap_or_default(),
            ftgo_harness::prereqs::kafka_description(),
        );
        let _ = writeln!(
            o,
            "setup:   fsync=on; all of PostgreSQL, Kafka, 3 cdc-relays, 3 services and the load \
             generator share the {} cores; system up in {:.1?}",
            command_line("nproc", &[]),
            self.start_up
        );
        let _ = writeln!(
            o,
            "         machine quiet (< 15 % busy for 10 s) before the start: {}",
            if self.quiet {
                "yes"
            } else {
                "NO: figures skewed by other work"
            }
        );
        if !self.extra_env.is_empty() {
            let _ = writeln!(o, "EXPERIMENT, extra settings: {}", self.extra_env);
        }
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "throughput, {} clients, {} s each (same SQL transaction):",
            self.clients,
            THROUGHPUT.as_secs()
        );
        let _ = writeln!(
            o,
            "  pgbench -M extended -c {} -j 2:  {:.0} tx/s  ({} transactions, latency avg {:.2} ms, {} failed)",
            self.clients, pg.tps, pg.transactions, pg.latency_ms, pg.failed
        );
        let _ = writeln!(
            o,
            "  wrk -t2 -c{} POST /v1/orders:    {:.0} orders/s  ({} requests, non-2xx {}, socket errors {})",
            self.clients, wrk.rate, wrk.requests, wrk.non_2xx, wrk.socket_errors
        );
        let _ = writeln!(
            o,
            "  wrk latency: {}",
            wrk.latency
                .iter()
                .map(|(p, v)| format!("p{} {v}", p.trim_end_matches('%')))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            o,
            "  orders/pgbench ratio: {:.2}  (target >= 0.80)",
            self.ratio
        );
        let _ = writeln!(
            o,
            "  backlog after wrk: {} orders PENDING, drained in {:.1?} ({:.0} validated/s, {} left)",
            self.drain.pending_after_wrk,
            self.drain.drained_in,
            self.drain.validated_per_s,
            self.drain.still_pending
        );
        let _ = writeln!(o);
        let placed = paced.placed.len();
        let achieved = placed as f64 / paced.issued_in.as_secs_f64();
        let idle = &self.idle_latency;
        let _ = writeln!(
            o,
            "latency on the idle system, {} orders one at a time (500 ms apart):",
            idle.validated_ms.len() + idle.rejected + idle.unfinished
        );
        let _ = writeln!(
            o,
            "  created -> validated {}\n    hops: -> ConsumerValidated {}; -> OrderDetailsValidated {}; \
             later reply -> OrderValidated {}",
            spread(&idle.validated_ms),
            spread(&idle.consumer_reply_ms),
            spread(&idle.restaurant_reply_ms),
            spread(&idle.last_reply_to_validated_ms)
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "latency at {PACED_RATE} orders/s for {} s ({} in flight at most):",
            PACED.as_secs(),
            PACED_IN_FLIGHT
        );
        let _ = writeln!(
            o,
            "  placed {placed} (201), failed {}, achieved {achieved:.1} orders/s, sent late (>20 ms) {}",
            paced.failed, paced.late
        );
        let v = &lat.validated_ms;
        let _ = writeln!(
            o,
            "  OrderCreated commit -> OrderValidated commit (Kafka record timestamps): {}  \
             (target p99 <= 100 ms)",
            spread(v)
        );
        let _ = writeln!(
            o,
            "    first third of the orders: {}; last third: {}",
            spread(&lat.first_third_ms),
            spread(&lat.last_third_ms)
        );
        let _ = writeln!(
            o,
            "    hops: -> ConsumerValidated commit {}; -> OrderDetailsValidated commit {}; \
             later reply -> OrderValidated commit {}",
            spread(&lat.consumer_reply_ms),
            spread(&lat.restaurant_reply_ms),
            spread(&lat.last_reply_to_validated_ms)
        );
        let _ = writeln!(
            o,
            "  VALIDATED {}/{placed} = {:.2} %, REJECTED {}, not finished within {} s {}",
            v.len(),
            100.0 * v.len() as f64 / placed.max(1) as f64,
            lat.rejected,
            SETTLE_LIMIT.as_secs(),
            lat.unfinished
        );
        let dbp = |p: f64| percentile(&lat.db_ms, p).map_or("-".into(), |v| format!("{v:.0} ms"));
        let _ = writeln!(
            o,
            "  cross-check, orders.updated_at - created_at: p50 {}, p95 {}, p99 {}, max {}",
            dbp(50.0),
            dbp(95.0),
            dbp(99.0),
            dbp(100.0)
        );
        let _ = writeln!(
            o,
            "  OrderCreated timestamp inside its POST's send..answer window: {}/{placed}",
            lat.stamps_in_window
        );
        let _ = writeln!(
            o,
            "  messages handled by each service's consumer loops (each in its own transaction; \
             partitions concurrently, each in order), count × mean handling time: {}",
            paced
                .handled
                .iter()
                .map(|(name, n, ms)| format!("{name} {n:.0} × {ms:.2} ms"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut http: Vec<Duration> = paced.placed.iter().map(|p| p.http).collect();
        http.sort_unstable();
        let d = |p: f64| {
            percentile(&http, p).map_or("-".into(), |d| format!("{:.1} ms", d.as_secs_f64() * 1e3))
        };
        let _ = writeln!(
            o,
            "  POST /v1/orders response time: p50 {}, p99 {}, max {}",
            d(50.0),
            d(99.0),
            d(100.0)
        );
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "resident memory (VmRSS, MiB): started / idle after setup / after the load"
        );
        for (((name, a), (_, b)), (_, c)) in self
            .rss_started
            .iter()
            .zip(&self.rss_idle)
            .zip(&self.rss_loaded)
        {
            let mib = |k: &u64| *k as f64 / 1024.0;
            let _ = writeln!(
                o,
                "  {name:<32} {:>6.1} / {:>6.1} / {:>6.1}",
                mib(a),
                mib(b),
                mib(c)
            );
        }
        let _ = writeln!(o, "```");
        let runs = [
            ("pgbench", &pg.observed),
            ("wrk", &wrk.observed),
            ("paced", &paced.observed),
        ];
        for (title, observed) in runs {
            let _ = writeln!(o, "\nCPU used during the {title} run ({}):\n", observed.pg);
            let _ = write!(o, "{}", observed.cpu.table());
        }
        for (title, Observed { top, .. }) in runs {
            let _ = writeln!(
                o,
                "\n`top -b` during the {title} run:\n\n```text\n{top}\n```"
            );
        }
        o
    }
}
