//! What benchmarks measure with, in one place so that every benchmark counts alike: CPU
//! time of processes, of their threads and of the machine (a [`CpuTracker`] per phase,
//! "other" being what the machine spent besides), resident memory ([`RssPeak`]), both
//! sampled together over a phase ([`PhaseMeter`]), the process tree from /proc
//! ([`children_of`]), percentiles and Prometheus histogram quantiles ([`Histogram`]),
//! and the parts of a report several benchmarks print ([`Machine`], [`Rate`],
//! [`RoundsTable`], [`CpuUse`]).

use std::future::Future;

mod cpu;
mod gc;
mod memory;
mod percentiles;
mod processes;
mod report;
mod sampling;

pub use cpu::{CpuSources, CpuTracker, MachineTicks, ThreadTicks, clock_ticks, ticks, wait_quiet};
pub use gc::{GcLog, GcPauses};
pub use memory::{RssPeak, peak_rss_kib, rss_kib};
pub use percentiles::{Histogram, Quantile, median, percentile};
pub use processes::{Stat, children_of, cmdline, pids};
pub use report::{CpuUse, Machine, Rate, RoundsTable, command_line, machine};
pub use sampling::{BackgroundMeter, PhaseMeter};

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
