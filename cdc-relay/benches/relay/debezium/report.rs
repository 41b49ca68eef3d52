//! This phase's lines, added at the end of the main report's markdown block:
//! `relay/debezium drain ratio: R` and `debezium/relay RSS ratio: R` among them.

use std::fmt::Write as _;

use ftgo_harness::debezium;
use ftgo_harness::measure::{RoundsTable, median};

use super::Comparison;
use super::drains::Drain;
use super::steady::Steady;
use crate::{MIB, PARTITIONS, STEADY_RATE};

impl Comparison {
    /// `report` (the main phase's text) with this phase's lines added at the end of its
    /// markdown block.
    pub(crate) fn append_to(&self, report: String) -> String {
        if self.skipped {
            return report;
        }
        let section = self.render();
        match report.rfind("```") {
            Some(end) => format!("{}{section}{}", &report[..end], &report[end..]),
            None => format!("{report}{section}"),
        }
    }

    /// relay rows/s over Debezium's, median of the rounds.
    fn drain_ratio(&self) -> f64 {
        let ratios: Vec<f64> = self
            .relay
            .iter()
            .zip(&self.debezium)
            .map(|(r, d)| r.rate.rows_per_second() / d.rate.rows_per_second())
            .collect();
        median(&ratios)
    }

    /// Most RSS over drains and steady load: Debezium's JVM over the relay.
    fn rss_ratio(&self) -> f64 {
        let most = |drains: &[Drain], steady: &Steady| {
            drains
                .iter()
                .map(|d| d.max_rss_kib)
                .chain([steady.max_rss_kib])
                .max()
                .unwrap_or(0) as f64
        };
        most(&self.debezium, &self.debezium_steady) / most(&self.relay, &self.relay_steady)
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Debezium {} (PostgreSQL connector, Outbox Event Router, StringConverter) on Kafka \
             Connect {} standalone, JVM {}, vs cdc-relay FTGO_LAYOUT=debezium",
            debezium::DEBEZIUM_VERSION,
            debezium::CONNECT_VERSION,
            self.heap_opts
        );
        for (name, extra) in [
            ("connector", &self.connector_extra),
            ("worker", &self.worker_extra),
        ] {
            if !extra.is_empty() {
                let pairs: Vec<String> = extra.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(out, "  {name} settings added: {}", pairs.join(","));
            }
        }
        let _ = writeln!(
            out,
            "  backlog: {} Debezium-layout rows (outboxevent, the main backlog's messages) in {} \
             transactions, inserted and deleted in each, written in {:.1} s; same broker, \
             {PARTITIONS} partitions",
            self.rows, self.transactions, self.backlog_seconds
        );
        let _ = writeln!(
            out,
            "  drain, rows/s, ready -> all visible in the topic (sum of high watermarks, polled \
             every 20 ms)"
        );
        let table = RoundsTable { width: 44 };
        table.header(&mut out, self.relay.len());
        let both = |out: &mut String, label: &str, f: fn(&Drain) -> f64, digits: usize| {
            for (side, drains) in [("relay", &self.relay), ("Debezium", &self.debezium)] {
                let values: Vec<f64> = drains.iter().map(f).collect();
                table.row(out, &format!("{label}: {side}"), &values, digits);
            }
        };
        both(&mut out, "rows/s", |d| d.rate.rows_per_second(), 0);
        both(
            &mut out,
            "rows/s after the first visible",
            |d| d.rate_after_first.rows_per_second(),
            0,
        );
        both(
            &mut out,
            "rows/s from spawn",
            |d| d.rate_from_spawn.rows_per_second(),
            0,
        );
        both(
            &mut out,
            "records beyond the backlog",
            |d| d.surplus as f64,
            0,
        );
        both(&mut out, "spawn -> ready, s", |d| d.ready_seconds, 2);
        both(
            &mut out,
            "spawn -> first visible, s",
            |d| d.first_seconds,
            2,
        );
        both(
            &mut out,
            "max RSS, MiB",
            |d| d.max_rss_kib as f64 * 1024.0 / MIB,
            1,
        );
        both(&mut out, "CPU s, ready -> all visible", own_cpu, 2);
        both(
            &mut out,
            "CPU s of the process since start",
            |d| d.process_cpu_seconds,
            2,
        );
        for (n, (r, d)) in self.relay.iter().zip(&self.debezium).enumerate() {
            let _ = writeln!(
                out,
                "  round {}: relay {} ({} visible at ready), CPU {}",
                n + 1,
                r.rate,
                r.visible_at_ready,
                r.cpu
            );
            let _ = writeln!(
                out,
                "           Debezium {} ({} visible at ready), CPU {}",
                d.rate, d.visible_at_ready, d.cpu
            );
        }
        for (name, s) in [
            ("relay", &self.relay_steady),
            ("Debezium", &self.debezium_steady),
        ] {
            let _ = writeln!(
                out,
                "  steady {name}: {} tx of 1 row at {STEADY_RATE} tx/s ({:.0} achieved), \
                 commit -> record visible (consumer) p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
                 ({} seen); commit p99 {:.1} ms; max RSS {:.1} MiB",
                s.transactions,
                s.transactions as f64 / s.seconds.max(1e-9),
                s.p50_ms,
                s.p99_ms,
                s.max_ms,
                s.seen,
                s.commit_p99_ms,
                s.max_rss_kib as f64 * 1024.0 / MIB
            );
            let _ = writeln!(out, "    CPU {}", s.cpu);
        }
        let _ = writeln!(
            out,
            "relay/debezium drain ratio: {:.2} (median of the rounds' ratios)",
            self.drain_ratio()
        );
        let _ = writeln!(
            out,
            "debezium/relay RSS ratio: {:.2} (most RSS over drains and steady load)",
            self.rss_ratio()
        );
        let _ = writeln!(out, "Debezium phase took {:.0} s", self.total_seconds);
        out
    }
}

/// CPU seconds of the drained process itself (its label: `relay` or `debezium`).
fn own_cpu(drain: &Drain) -> f64 {
    drain.cpu.get("relay") + drain.cpu.get("debezium")
}
