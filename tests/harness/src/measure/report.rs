//! The parts of a benchmark report that several benchmarks print: the machine, rates,
//! per-round tables with their median, and where the CPU went.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::process::Command;
use std::time::Duration;

use super::percentiles::median;

/// A command's trimmed standard output, or "" if it cannot run.
pub fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// What a benchmark ran on. Its `Display` is [`machine`]'s line.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    /// Cores this process may run on (`nproc`).
    pub cores: usize,
    /// The CPU's model name (/proc/cpuinfo).
    pub cpu: String,
    /// Memory (/proc/meminfo's `MemTotal`), GiB.
    pub memory_gib: f64,
    /// The kernel (`uname -sr`).
    pub kernel: String,
}

impl Machine {
    /// This machine now.
    pub fn read() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_default();
        let memory_kib = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("MemTotal:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            })
            .unwrap_or(0.0);
        Self {
            cores: command_line("nproc", &[])
                .parse()
                .unwrap_or_else(|_| std::thread::available_parallelism().map_or(0, usize::from)),
            cpu,
            memory_gib: memory_kib / 1024.0 / 1024.0,
            kernel: command_line("uname", &["-sr"]),
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cores (nproc), {}, {:.1} GiB RAM; {}",
            self.cores, self.cpu, self.memory_gib, self.kernel
        )
    }
}

/// Cores, CPU model, memory and kernel, for a benchmark report.
pub fn machine() -> String {
    Machine::read().to_string()
}

/// Rows moved over a time: a drain's rate, printed with what it was computed from.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Rows moved.
    pub rows: usize,
    /// Over this many seconds.
    pub seconds: f64,
}

impl Rate {
    /// `rows` over `elapsed`.
    pub fn new(rows: usize, elapsed: Duration) -> Self {
        Self {
            rows,
            seconds: elapsed.as_secs_f64(),
        }
    }

    /// Rows per second (as if over a nanosecond when no time passed).
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(1e-9)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.0} rows/s ({} rows in {:.3} s)",
            self.rows_per_second(),
            self.rows,
            self.seconds
        )
    }
}

/// A table of one figure per round and the rounds' median, as the relay benchmark's
/// report prints its rounds: a label column `width` wide, then columns of 10.
#[derive(Debug, Clone, Copy)]
pub struct RoundsTable {
    /// The label column's width.
    pub width: usize,
}

impl RoundsTable {
    /// `round 1 … round <rounds>  median` over the value columns.
    pub fn header(&self, out: &mut String, rounds: usize) {
        let _ = write!(out, "  {:<width$}", "", width = self.width);
        for n in 1..=rounds {
            let _ = write!(out, "{:>10}", format!("round {n}"));
        }
        let _ = writeln!(out, "{:>10}", "median");
    }

    /// `label`, each of `values` and their median, with `digits` decimals.
    pub fn row(&self, out: &mut String, label: &str, values: &[f64], digits: usize) {
        let _ = write!(out, "  {label:<width$}", width = self.width);
        for v in values {
            let _ = write!(out, "{v:>10.digits$}");
        }
        let _ = writeln!(out, "{:>10.digits$}", median(values));
    }
}

/// CPU seconds used over a phase: per label of a [`super::CpuTracker`], and by the whole
/// machine. Its `Display` is one line (labels in alphabetical order, with "other");
/// [`CpuUse::table`] a markdown table.
#[derive(Debug, Clone, Default)]
pub struct CpuUse {
    /// How long the phase took.
    pub wall_seconds: f64,
    /// CPU seconds per label, in the order the labels were first charged.
    pub seconds: Vec<(&'static str, f64)>,
    /// The machine's busy time (all cores) over the phase.
    pub machine_seconds: f64,
    /// Of the processes not tracked that ran at both ends of the phase, when asked for
    /// ([`super::CpuSources::others`]).
    pub others_seconds: Option<f64>,
}

impl CpuUse {
    /// CPU seconds of `label` (0 if none).
    pub fn get(&self, label: &str) -> f64 {
        self.seconds
            .iter()
            .find(|(l, _)| *l == label)
            .map_or(0.0, |(_, s)| *s)
    }

    /// CPU seconds of every tracked process.
    pub fn tracked(&self) -> f64 {
        self.seconds.iter().map(|(_, s)| s).sum()
    }

    /// The machine's busy time that no tracked process used: kernel threads, other
    /// users of the machine, processes not tracked.
    pub fn other(&self) -> f64 {
        (self.machine_seconds - self.tracked()).max(0.0)
    }

    /// A markdown table: each label's CPU seconds and share of all cores, then (with
    /// [`CpuUse::others_seconds`]) the other processes', then what no process seen at
    /// both ends explains, and the total.
    pub fn table(&self) -> String {
        let mut used: Vec<(&str, f64)> = self.seconds.clone();
        let mut unexplained = self.other();
        if let Some(others) = self.others_seconds {
            used.push((
                "other processes on the machine (kernel threads included)",
                others,
            ));
            unexplained = (unexplained - others).max(0.0);
        }
        used.push((
            "not charged to a process seen twice (interrupts, softirq, short-lived processes)",
            unexplained,
        ));
        let core_seconds = self.wall_seconds * cores() as f64;
        let total: f64 = used.iter().map(|(_, s)| s).sum();
        let mut out = String::from("| process | CPU s | % of all cores |\n|---|---:|---:|\n");
        for (name, seconds) in used {
            let _ = writeln!(
                out,
                "| {name} | {seconds:.1} | {:.0} % |",
                100.0 * seconds / core_seconds
            );
        }
        let _ = writeln!(
            out,
            "| **total** (of {core_seconds:.0} core-s) | {total:.1} | {:.0} % |",
            100.0 * total / core_seconds
        );
        out
    }
}

impl fmt::Display for CpuUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut by_label: BTreeMap<&str, f64> = self.seconds.iter().copied().collect();
        by_label.insert("other", self.other());
        by_label.retain(|_, s| *s > 0.0);
        let wall = self.wall_seconds.max(1e-9);
        let parts: Vec<String> = by_label
            .iter()
            .map(|(label, s)| format!("{label} {s:.2} s ({:.0}% of a core)", 100.0 * s / wall))
            .collect();
        let total: f64 = by_label.values().sum();
        write!(
            f,
            "over {:.2} s: {} | machine {total:.2} s = {:.2} of {} cores busy",
            self.wall_seconds,
            parts.join(", "),
            total / wall,
            cores()
        )
    }
}

/// The cores this process may run on.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_tables_end_with_the_median() {
        let table = RoundsTable { width: 6 };
        let mut out = String::new();
        table.header(&mut out, 2);
        table.row(&mut out, "rate", &[10.0, 30.0], 0);
        assert_eq!(
            out,
            "           round 1   round 2    median\n  rate          10        30        20\n"
        );
    }

    #[test]
    fn cpu_use_names_what_the_machine_did_besides() {
        let used = CpuUse {
            wall_seconds: 2.0,
            seconds: vec![("relay", 1.0), ("broker", 0.0), ("postgres", 0.5)],
            machine_seconds: 2.0,
            others_seconds: None,
        };
        assert_eq!(used.get("postgres"), 0.5);
        assert_eq!(used.other(), 0.5);
        let line = used.to_string();
        assert!(
            line.starts_with(
                "over 2.00 s: other 0.50 s (25% of a core), postgres 0.50 s (25% of a core), \
                 relay 1.00 s (50% of a core) | machine 2.00 s = 1.00 of "
            ),
            "{line}"
        );
        let with_others = CpuUse {
            others_seconds: Some(0.3),
            ..used
        };
        let table = with_others.table();
        assert!(
            table.contains("| other processes on the machine (kernel threads included) | 0.3 |")
        );
        assert!(table.contains("| not charged to a process seen twice (interrupts, softirq, short-lived processes) | 0.2 |"));
    }

    #[test]
    fn a_rate_says_what_it_was_computed_from() {
        let rate = Rate::new(1_000, Duration::from_millis(250));
        assert_eq!(rate.rows_per_second(), 4_000.0);
        assert_eq!(rate.to_string(), "4000 rows/s (1000 rows in 0.250 s)");
    }
}
