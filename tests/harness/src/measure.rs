//! What benchmarks measure with: CPU time of a process from /proc, percentiles, and a
//! one-line description of the machine for the report.

use std::future::Future;
use std::process::Command;

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
