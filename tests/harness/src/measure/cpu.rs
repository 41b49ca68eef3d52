//! CPU time from /proc: of a process, of its threads, of the whole machine, and of every
//! process taking part in a benchmark's phase ([`CpuTracker`]), with what the machine
//! spent besides ("other"), so a disturbed run shows as one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::command_line;
use super::processes::{Stat, children_of, cmdline, pids};
use super::report::CpuUse;

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
    Stat::read(pid).map_or((0, 0), |s| (s.own_ticks, s.reaped_children_ticks))
}

/// From the `cpu` line of /proc/stat, in clock ticks: busy (everything but idle and
/// iowait) and idle, summed over the machine's cores.
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineTicks {
    /// user, nice, system, irq, softirq, steal (guest time is within user).
    pub busy: u64,
    /// idle, iowait.
    pub idle: u64,
}

impl MachineTicks {
    /// The machine's ticks so far (zeros if /proc/stat cannot be read).
    pub fn now() -> Self {
        Self::parse(&std::fs::read_to_string("/proc/stat").unwrap_or_default())
    }

    fn parse(stat: &str) -> Self {
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

/// CPU ticks of each thread of a process so far (tid -> name, ticks): where a process's
/// CPU went, by thread name, between two readings.
#[derive(Debug, Clone, Default)]
pub struct ThreadTicks(BTreeMap<u32, (String, u64)>);

impl ThreadTicks {
    /// Every thread of `pid` now (none if it is gone).
    pub fn read(pid: u32) -> Self {
        let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return Self::default();
        };
        Self(
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(|tid| {
                    let stat = Stat::read(&format!("{pid}/task/{tid}"))?;
                    Some((tid, (stat.name, stat.own_ticks)))
                })
                .collect(),
        )
    }

    /// CPU seconds per thread name since `earlier` (threads born since count from
    /// zero), busiest first, idle names left out.
    pub fn seconds_since(&self, earlier: &Self) -> Vec<(String, f64)> {
        let mut by_name: BTreeMap<&str, f64> = BTreeMap::new();
        for (tid, (name, ticks)) in &self.0 {
            let before = earlier.0.get(tid).map_or(0, |t| t.1);
            *by_name.entry(name).or_default() +=
                ticks.saturating_sub(before) as f64 / clock_ticks();
        }
        let mut threads: Vec<(String, f64)> = by_name
            .into_iter()
            .filter(|(_, seconds)| *seconds > 0.0)
            .map(|(name, seconds)| (name.to_owned(), seconds))
            .collect();
        threads.sort_by(|a, b| b.1.total_cmp(&a.1));
        threads
    }
}

/// What a [`CpuTracker`] charges time to.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// One process's own time.
    Process(&'static str, u32),
    /// A process and its children, each labelled by its command line; the children it
    /// reaped during the phase count too (to the root's label).
    Tree(u32, fn(&str) -> &'static str),
    /// The time of the children a process reaped during the phase (programs it ran and
    /// waited for).
    Reaped(&'static str, u32),
}

/// The processes a [`CpuTracker`] follows, built up before it starts.
#[derive(Debug, Clone, Default)]
pub struct CpuSources {
    sources: Vec<Source>,
    others: bool,
}

impl CpuSources {
    /// Charges `pid`'s own CPU time to `label` (several processes may share a label).
    pub fn process(mut self, label: &'static str, pid: u32) -> Self {
        self.sources.push(Source::Process(label, pid));
        self
    }

    /// Charges `root` and its children to `label_of(their command line)`: PostgreSQL's
    /// postmaster and its backends, listed again at each sample so that a backend born
    /// during the phase counts (from zero). Children the root reaped during the phase
    /// count in full, to the root's label: a backend that ended between samples is not
    /// lost.
    pub fn tree(mut self, root: u32, label_of: fn(&str) -> &'static str) -> Self {
        self.sources.push(Source::Tree(root, label_of));
        self
    }

    /// Charges to `label` the CPU time of the children `pid` reaped during the phase
    /// (a load generator this process ran and waited for). Those children must not also
    /// be tracked by [`Self::process`].
    pub fn reaped(mut self, label: &'static str, pid: u32) -> Self {
        self.sources.push(Source::Reaped(label, pid));
        self
    }

    /// Also sums up every other process that ran at both ends of the phase (kernel
    /// threads included): the machine's busy time they do not explain is then
    /// interrupts and short-lived processes. It reads all of /proc twice.
    pub fn others(mut self) -> Self {
        self.others = true;
        self
    }

    /// Takes the first readings.
    pub fn start(self) -> CpuTracker {
        let mut tracker = CpuTracker {
            started: Instant::now(),
            sources: self.sources,
            seen: BTreeMap::new(),
            present: BTreeSet::new(),
            reaped: BTreeMap::new(),
            labels: Vec::new(),
            others: None,
            machine: MachineTicks::now(),
        };
        tracker.read(true);
        if self.others {
            tracker.others = Some(
                pids()
                    .into_iter()
                    .filter(|pid| !tracker.seen.contains_key(pid))
                    .filter_map(|pid| Some((pid, Stat::read(&pid.to_string())?.own_ticks)))
                    .collect(),
            );
        }
        tracker
    }
}

/// A process [`CpuTracker`] has charged: its label, its ticks when first seen (0 for one
/// born during the phase) and at the latest sample, and the tree it belongs to.
#[derive(Debug, Clone, Copy)]
struct Seen {
    label: &'static str,
    first: u64,
    latest: u64,
    tree: Option<u32>,
}

/// The reaped children's ticks of a tree root or [`CpuSources::reaped`] process: at the
/// start and at the latest sample.
#[derive(Debug, Clone, Copy)]
struct Reaped {
    label: &'static str,
    first: u64,
    latest: u64,
    tree: bool,
}

/// CPU time of the processes taking part in a phase, and of the whole machine, from
/// [`CpuSources::start`] to [`CpuTracker::finish`]. Sample it while the phase runs: a
/// process gone before the last sample keeps the value of its last one.
#[derive(Debug)]
pub struct CpuTracker {
    started: Instant,
    sources: Vec<Source>,
    /// pid -> what it was charged.
    seen: BTreeMap<u32, Seen>,
    /// The pids found at the latest sample.
    present: BTreeSet<u32>,
    /// pid -> its reaped children's ticks.
    reaped: BTreeMap<u32, Reaped>,
    /// Labels in the order first charged.
    labels: Vec<&'static str>,
    /// Untracked processes' ticks at the start (with [`CpuSources::others`]).
    others: Option<BTreeMap<u32, u64>>,
    machine: MachineTicks,
}

impl CpuTracker {
    /// Reads every tracked process now.
    pub fn sample(&mut self) {
        self.read(false);
    }

    fn read(&mut self, at_start: bool) {
        self.present.clear();
        for source in self.sources.clone() {
            match source {
                Source::Process(label, pid) => self.charge(label, pid, None, at_start),
                Source::Tree(root, label_of) => {
                    for pid in std::iter::once(root).chain(children_of(root)) {
                        self.charge(label_of(&cmdline(pid)), pid, Some(root), at_start);
                    }
                    let label = self.seen.get(&root).map_or("", |s| s.label);
                    self.note_reaped(label, root, true, at_start);
                }
                Source::Reaped(label, pid) => self.note_reaped(label, pid, false, at_start),
            }
        }
    }

    fn charge(&mut self, label: &'static str, pid: u32, tree: Option<u32>, at_start: bool) {
        let Some(stat) = Stat::read(&pid.to_string()) else {
            return;
        };
        self.present.insert(pid);
        self.label(label);
        let first = if at_start { stat.own_ticks } else { 0 };
        self.seen
            .entry(pid)
            .or_insert(Seen {
                label,
                first,
                latest: first,
                tree,
            })
            .latest = stat.own_ticks;
    }

    fn note_reaped(&mut self, label: &'static str, pid: u32, tree: bool, at_start: bool) {
        let Some(stat) = Stat::read(&pid.to_string()) else {
            return;
        };
        let ticks = stat.reaped_children_ticks;
        if at_start {
            self.label(label);
            self.reaped.insert(
                pid,
                Reaped {
                    label,
                    first: ticks,
                    latest: ticks,
                    tree,
                },
            );
        } else if let Some(reaped) = self.reaped.get_mut(&pid) {
            reaped.latest = ticks;
        }
    }

    fn label(&mut self, label: &'static str) {
        if !self.labels.contains(&label) {
            self.labels.push(label);
        }
    }

    /// Takes a last sample; CPU seconds per label since the start.
    pub fn finish(mut self) -> CpuUse {
        self.sample();
        let hz = clock_ticks();
        let mut ticks: BTreeMap<&'static str, u64> = BTreeMap::new();
        for seen in self.seen.values() {
            *ticks.entry(seen.label).or_default() += seen.latest.saturating_sub(seen.first);
        }
        for (root, reaped) in &self.reaped {
            let mut grew = reaped.latest.saturating_sub(reaped.first);
            if reaped.tree {
                // A child seen before it ended already counted up to its last sample;
                // what it used after that is in the root's reaped time with the rest.
                let counted: u64 = self
                    .seen
                    .iter()
                    .filter(|(pid, s)| s.tree == Some(*root) && !self.present.contains(pid))
                    .map(|(_, s)| s.latest)
                    .sum();
                grew = grew.saturating_sub(counted);
            }
            *ticks.entry(reaped.label).or_default() += grew;
        }
        let others = self.others.as_ref().map(|others| {
            others
                .iter()
                .filter(|(pid, _)| !self.seen.contains_key(pid))
                .filter_map(|(pid, then)| {
                    Some(
                        Stat::read(&pid.to_string())?
                            .own_ticks
                            .saturating_sub(*then),
                    )
                })
                .sum::<u64>() as f64
                / hz
        });
        CpuUse {
            wall_seconds: self.started.elapsed().as_secs_f64(),
            seconds: self
                .labels
                .iter()
                .map(|label| (*label, ticks.get(label).copied().unwrap_or(0) as f64 / hz))
                .collect(),
            machine_seconds: MachineTicks::now().busy.saturating_sub(self.machine.busy) as f64 / hz,
            others_seconds: others,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_ticks_count_idle_and_iowait_as_not_busy() {
        let stat = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n";
        let ticks = MachineTicks::parse(stat);
        assert_eq!((ticks.busy, ticks.idle), (161, 1020));
        let later = MachineTicks {
            busy: 161 + 30,
            idle: 1020 + 70,
        };
        assert_eq!(later.busy_percent_since(&ticks), 30);
    }

    #[test]
    fn thread_seconds_are_summed_by_name_busiest_first() {
        let hz = clock_ticks() as u64;
        let threads = |list: &[(u32, &str, u64)]| {
            ThreadTicks(
                list.iter()
                    .map(|(tid, name, ticks)| (*tid, ((*name).to_owned(), *ticks)))
                    .collect(),
            )
        };
        let before = threads(&[(1, "main", hz), (2, "worker", 0), (3, "idle", hz)]);
        let after = threads(&[
            (1, "main", 2 * hz),
            (2, "worker", 2 * hz),
            (3, "idle", hz),
            (4, "worker", hz),
        ]);
        assert_eq!(
            after.seconds_since(&before),
            [("worker".to_owned(), 3.0), ("main".to_owned(), 1.0)]
        );
    }

    #[test]
    fn a_tracker_charges_a_busy_child_and_its_reaped_time() {
        let me = std::process::id();
        let tracker = CpuSources::default()
            .reaped("children", me)
            .process("bench", me)
            .others()
            .start();
        // A child that burns CPU and is reaped before the tracker finishes.
        let status = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"])
            .status()
            .unwrap();
        assert!(status.success());
        let used = tracker.finish();
        assert!(used.get("children") > 0.0, "{used:?}");
        assert_eq!(used.seconds.len(), 2);
        assert!(used.others_seconds.is_some());
        assert!(used.wall_seconds > 0.0);
    }
}
