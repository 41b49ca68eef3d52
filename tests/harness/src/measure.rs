//! What benchmarks measure with: CPU time and memory of a process and of the machine
//! from /proc, percentiles, and a one-line description of the machine for the report.

use std::future::Future;
use std::process::Command;
use std::time::{Duration, Instant};

/// Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, asked once; 100, the
/// USER_HZ of every Linux architecture here, if unknown).
pub fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        command_line("getconf", &["CLK_TCK"])
            .parse()
            .unwrap_or(100.0)
    })
}

/// (own utime+stime, reaped children's cutime+cstime) of `pid` (`"self"` for this
/// process), in clock ticks; (0, 0) if it is gone.
pub fn ticks(pid: &str) -> (u64, u64) {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return (0, 0);
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return (0, 0);
    };
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // After the name: state is field 3, utime 14, stime 15, cutime 16, cstime 17.
    let get = |field: usize| f.get(field - 3).copied().unwrap_or(0);
    (get(14) + get(15), get(16) + get(17))
}

/// Resident memory of `pid` now (`VmRSS` of /proc/<pid>/status), in KiB; `None` if it
/// is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The most resident memory `pid` has had since it started (`VmHWM`, the high-water mark
/// the kernel keeps), in KiB: a peak that sampling `VmRSS` could miss between samples.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// A `kB` field of /proc/<pid>/status.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// From the `cpu` line of /proc/stat, in clock ticks: busy (everything but idle and
/// iowait) and idle, summed over the machine's cores.
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineTicks {
    /// user, nice, system, irq, softirq, steal.
    pub busy: u64,
    /// idle, iowait.
    pub idle: u64,
}

impl MachineTicks {
    /// The machine's ticks so far (zeros if /proc/stat cannot be read).
    pub fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let f: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap_or(0))
            .collect();
        let get = |i: usize| f.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        Self {
            busy: get(0) + get(1) + get(2) + get(5) + get(6) + get(7),
            idle: get(3) + get(4),
        }
    }

    /// The share of the machine (0–100 %, all cores) that was busy since `earlier`.
    pub fn busy_percent_since(&self, earlier: &Self) -> u64 {
        let busy = self.busy.saturating_sub(earlier.busy);
        let total = (busy + self.idle.saturating_sub(earlier.idle)).max(1);
        busy * 100 / total
    }
}

/// Waits (at most `limit`) until the machine has been under 15 % busy for 10 s in a row:
/// other work on the machine would skew every figure. Returns whether it was quiet;
/// `progress` hears once that it is waiting.
pub async fn wait_quiet(limit: Duration, progress: impl Fn(&str)) -> bool {
    let started = Instant::now();
    let mut quiet = 0;
    let mut reported = false;
    while started.elapsed() < limit {
        let before = MachineTicks::now();
        // Measuring over a second, not waiting for an event.
        tokio::time::sleep(Duration::from_secs(1)).await;
        if MachineTicks::now().busy_percent_since(&before) < 15 {
            quiet += 1;
            if quiet >= 10 {
                return true;
            }
        } else {
            quiet = 0;
            if !reported {
                progress("the machine is busy with other work; waiting for it to be quiet");
                reported = true;
            }
        }
    }
    false
}

/// The value at percentile `p` (0–100, nearest rank) of `sorted`.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// A command's trimmed standard output, or "" if it cannot run.
pub fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Cores, CPU model, memory and kernel, for a benchmark report.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or_else(String::new, |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    format!(
        "{} cores (nproc), {cpu}, {memory} RAM; {}",
        command_line("nproc", &[]),
        command_line("uname", &["-sr"])
    )
}

/// A benchmark target's `main`: runs `body` on a multi-threaded runtime when started by
/// `cargo bench` (which passes `--bench`). `cargo test --all-targets` runs bench targets
/// too, without it; then this only says how to run the benchmark.
pub fn run_benchmark<F: Future<Output = ()>>(package: &str, bench: &str, body: F) {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("{bench}: a benchmark; run it with `cargo bench -p {package} --bench {bench}`");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(body);
}
