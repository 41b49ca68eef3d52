//! Resident memory of a process, from /proc/<pid>/status: now, its kernel-kept peak, and
//! the most seen by sampling over a phase.

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
    parse_kib(&status, field)
}

fn parse_kib(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The most resident memory (`VmRSS`) one process was seen with over a phase, sampled:
/// unlike `VmHWM`, it covers only the phase, not what the process did before.
#[derive(Debug, Clone, Copy)]
pub struct RssPeak {
    pid: u32,
    /// The most seen, KiB (0 before a sample, or if the process was gone at each).
    pub max_kib: u64,
    /// How many samples were taken.
    pub samples: usize,
}

impl RssPeak {
    /// No sample of `pid` yet.
    pub fn new(pid: u32) -> Self {
        Self {
            pid,
            max_kib: 0,
            samples: 0,
        }
    }

    /// Reads the process's RSS now; returns it (0 if the process is gone).
    pub fn sample(&mut self) -> u64 {
        let now = rss_kib(self.pid).unwrap_or(0);
        self.max_kib = self.max_kib.max(now);
        self.samples += 1;
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kib_fields_of_status() {
        let status = "Name:\tcdc-relay\nVmHWM:\t   40960 kB\nVmRSS:\t   30720 kB\n";
        assert_eq!(parse_kib(status, "VmRSS:"), Some(30_720));
        assert_eq!(parse_kib(status, "VmHWM:"), Some(40_960));
        assert_eq!(parse_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn this_process_has_resident_memory_and_a_peak() {
        let me = std::process::id();
        let mut peak = RssPeak::new(me);
        assert!(peak.sample() > 0);
        peak.sample();
        assert_eq!(peak.samples, 2);
        assert!(peak_rss_kib(me).unwrap() > 0);
    }
}
