//! The broker JVM's garbage-collection pauses in a phase, from its `-Xlog:gc` file: a
//! stop-the-world pause holds every request the broker is serving, so a latency tail can
//! be set against the pauses that fell in the same seconds.

use std::path::{Path, PathBuf};

/// A GC log, and how long it was when a phase began.
#[derive(Debug, Clone)]
pub struct GcLog {
    path: PathBuf,
    start: usize,
}

/// The pauses of a phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcPauses {
    /// Each pause's duration in ms, in the order logged.
    pub millis: Vec<f64>,
}

impl GcLog {
    /// Marks the end of the log at `path` as it is now: [`GcLog::pauses`] reads what is
    /// written after it. A log that does not exist yet counts as empty.
    pub fn mark(path: &Path) -> Self {
        let start = std::fs::read_to_string(path).map_or(0, |text| text.len());
        Self {
            path: path.to_owned(),
            start,
        }
    }

    /// The pauses logged since [`GcLog::mark`] (none if the log cannot be read, or was
    /// started again, shorter, by a restarted broker).
    pub fn pauses(&self) -> GcPauses {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        GcPauses::parse(text.get(self.start..).unwrap_or_default())
    }
}

impl GcPauses {
    /// The pauses in `-Xlog:gc` lines such as
    /// `[20.057s] GC(34) Pause Young (Normal) (G1 Evacuation Pause) 186M->160M(322M) 2.651ms`;
    /// concurrent phases (`Concurrent Mark Cycle …`) do not stop the broker and are not
    /// counted.
    pub fn parse(text: &str) -> Self {
        let millis = text
            .lines()
            .filter(|line| line.contains(" Pause "))
            .filter_map(|line| line.rsplit(' ').next()?.strip_suffix("ms")?.parse().ok())
            .collect();
        Self { millis }
    }

    /// The longest pause, in ms (0 without any).
    pub fn max(&self) -> f64 {
        self.millis.iter().copied().fold(0.0, f64::max)
    }

    /// All pauses together, in ms.
    pub fn total(&self) -> f64 {
        self.millis.iter().sum()
    }

    /// The median pause, in ms (0 without any).
    pub fn median(&self) -> f64 {
        if self.millis.is_empty() {
            0.0
        } else {
            super::median(&self.millis)
        }
    }
}

impl std::fmt::Display for GcPauses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} pauses, median {:.1} ms, longest {:.1} ms, {:.0} ms in all",
            self.millis.len(),
            self.median(),
            self.max(),
            self.total()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stop_the_world_pauses_of_either_collector_and_not_concurrent_phases() {
        let log = "[0.003s] Using G1
[20.020s] GC(33) Pause Remark 179M->179M(322M) 10.481ms
[20.057s] GC(34) Pause Young (Concurrent Start) (G1 Humongous Allocation) 186M->160M(322M) 2.651ms
[20.190s] GC(33) Concurrent Mark Cycle 161.094ms
[36.030s] GC(32) Pause Young (Allocation Failure) 192M->158M(252M) 22.048ms
";
        let pauses = GcPauses::parse(log);
        assert_eq!(pauses.millis, vec![10.481, 2.651, 22.048]);
        assert_eq!(pauses.max(), 22.048);
        assert_eq!(pauses.median(), 10.481);
    }

    #[test]
    fn reads_only_what_was_logged_after_the_mark() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gc.log");
        std::fs::write(
            &path,
            "[1.0s] GC(1) Pause Young (Normal) 10M->5M(64M) 9.000ms\n",
        )
        .unwrap();
        let log = GcLog::mark(&path);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("[2.0s] GC(2) Pause Young (Normal) 10M->5M(64M) 1.500ms\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(log.pauses().millis, vec![1.5]);
        assert_eq!(
            GcLog::mark(&dir.path().join("none")).pauses(),
            GcPauses::default()
        );
    }
}
