//! Supervision like the platform's: on Kubernetes the kubelet restarts a container that
//! exits, with back-off, and says `CrashLoopBackOff` when one keeps crashing. Locally,
//! `cargo dev up` does the same for the processes it started ([`crate::Stack::supervise`]):
//! an exit is reported at once (which process, its exit code or signal, its log) and the
//! process is started again, as it was, after [`Backoff`]'s delay.
//!
//! Opt-in: tests and the fault suite kill and restart processes themselves, and must not
//! find them restarted behind their backs.

mod backoff;

use std::fmt;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

pub use self::backoff::Backoff;
use crate::process::ManagedProcess;

/// What the supervisor saw or did. Its `Display` is the line `cargo dev up` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A process exited without being asked to; it starts again after `restart_in`.
    Exited {
        /// Which process (`cdc-relay (order_service)`, `order-service`, ...).
        name: String,
        /// `exit code 1`, `killed by signal 9 (SIGKILL)`.
        how: String,
        /// How long it had run.
        ran: Duration,
        /// Its log, where the reason is.
        log: PathBuf,
        /// Crashes without a stretch of [`Backoff::reset_after`] running between them.
        crashes_in_a_row: u32,
        /// When it starts again.
        restart_in: Duration,
        /// It has crashed [`Backoff::crash_loop_after`] times in a row or more.
        crash_loop: bool,
    },
    /// A process was started again.
    Restarted {
        /// Which process.
        name: String,
        /// Its new process id.
        pid: u32,
        /// Restarts of it so far.
        restarts: u32,
    },
    /// Starting a process again failed (counted as a crash); the next try is after
    /// `restart_in`.
    RestartFailed {
        /// Which process.
        name: String,
        /// Why.
        error: String,
        /// When it is tried again.
        restart_in: Duration,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited {
                name,
                how,
                ran,
                log,
                crashes_in_a_row,
                restart_in,
                crash_loop,
            } => {
                if *crash_loop {
                    write!(
                        f,
                        "CrashLoopBackOff: {name} crashed {crashes_in_a_row} times in a row, \
                         the last time {how} after {:.1} s; log {}; next start in {:.0?}",
                        ran.as_secs_f64(),
                        log.display(),
                        restart_in
                    )
                } else {
                    write!(
                        f,
                        "{name} exited unexpectedly ({how}) after {:.1} s; log {}; \
                         restarting in {:.0?}",
                        ran.as_secs_f64(),
                        log.display(),
                        restart_in
                    )
                }
            }
            Self::Restarted {
                name,
                pid,
                restarts,
            } => write!(f, "{name} restarted (pid {pid}, restart {restarts})"),
            Self::RestartFailed {
                name,
                error,
                restart_in,
            } => write!(
                f,
                "{name} could not be started again: {error}; next try in {restart_in:.0?}"
            ),
        }
    }
}

/// One process's supervision state.
#[derive(Debug, Default)]
struct Watch {
    crashes_in_a_row: u32,
    restarts: u32,
    /// Set while it waits out its back-off.
    restart_at: Option<Instant>,
}

/// Watches processes and starts again those that exit, with back-off.
#[derive(Debug)]
pub(crate) struct Supervisor {
    backoff: Backoff,
    watches: Vec<Watch>,
}

impl Supervisor {
    pub(crate) fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            watches: Vec::new(),
        }
    }

    /// Looks at each of `processes` (named) once: reports and schedules the restart of
    /// one that exited, and restarts one whose back-off is over. The processes must come
    /// in the same order at every call.
    pub(crate) fn check(
        &mut self,
        processes: &mut [(String, &mut ManagedProcess)],
        report: &mut dyn FnMut(Event),
    ) {
        self.watches.resize_with(processes.len(), Watch::default);
        let now = Instant::now();
        for ((name, process), watch) in processes.iter_mut().zip(&mut self.watches) {
            match watch.restart_at {
                Some(at) if now >= at => match process.respawn() {
                    Ok(()) => {
                        watch.restart_at = None;
                        watch.restarts += 1;
                        report(Event::Restarted {
                            name: name.clone(),
                            pid: process.pid(),
                            restarts: watch.restarts,
                        });
                    }
                    Err(error) => {
                        watch.crashes_in_a_row += 1;
                        let restart_in = self.backoff.delay(watch.crashes_in_a_row);
                        watch.restart_at = Some(now + restart_in);
                        report(Event::RestartFailed {
                            name: name.clone(),
                            error: error.to_string(),
                            restart_in,
                        });
                    }
                },
                Some(_) => {}
                None => {
                    let Some(status) = process.exit_status() else {
                        continue;
                    };
                    let ran = process.uptime();
                    if ran >= self.backoff.reset_after {
                        watch.crashes_in_a_row = 0;
                    }
                    watch.crashes_in_a_row += 1;
                    let restart_in = self.backoff.delay(watch.crashes_in_a_row);
                    watch.restart_at = Some(now + restart_in);
                    report(Event::Exited {
                        name: name.clone(),
                        how: describe(status),
                        ran,
                        log: process.log_path().to_owned(),
                        crashes_in_a_row: watch.crashes_in_a_row,
                        restart_in,
                        crash_loop: watch.crashes_in_a_row >= self.backoff.crash_loop_after,
                    });
                }
            }
        }
    }
}

/// `exit code N` or `killed by signal N (NAME)`.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => match nix::sys::signal::Signal::try_from(signal) {
            Ok(name) => format!("killed by signal {signal} ({name})"),
            Err(_) => format!("killed by signal {signal}"),
        },
        (None, None) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    use super::*;

    fn shell(log: &std::path::Path, script: &'static str) -> ManagedProcess {
        let recipe = move || {
            let mut command = Command::new("sh");
            command.args(["-c", script]);
            command
        };
        ManagedProcess::spawn("test", recipe, log, Signal::SIGTERM).unwrap()
    }

    /// Checks `process` until `restarts` restarts were reported (10 s at most).
    fn supervise_until(
        backoff: Backoff,
        process: &mut ManagedProcess,
        restarts: usize,
    ) -> Vec<Event> {
        let mut supervisor = Supervisor::new(backoff);
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while events
            .iter()
            .filter(|e| matches!(e, Event::Restarted { .. }))
            .count()
            < restarts
        {
            assert!(Instant::now() < deadline, "{events:#?}");
            supervisor.check(&mut [("crasher".into(), &mut *process)], &mut |e| {
                events.push(e);
            });
            std::thread::sleep(Duration::from_millis(2));
        }
        events
    }

    #[test]
    fn a_process_that_keeps_exiting_is_restarted_later_each_time_and_called_crash_looping() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("crasher.log");
        let mut process = shell(&log, "exit 3");
        let backoff = Backoff {
            first: Duration::from_millis(20),
            max: Duration::from_millis(80),
            reset_after: Duration::from_secs(60),
            crash_loop_after: 3,
        };
        let events = supervise_until(backoff, &mut process, 4);
        let exits: Vec<(String, u32, u128, bool)> = events
            .iter()
            .filter_map(|e| match e {
                Event::Exited {
                    how,
                    crashes_in_a_row,
                    restart_in,
                    crash_loop,
                    log: logged,
                    ..
                } => {
                    assert_eq!(logged, &log);
                    Some((
                        how.clone(),
                        *crashes_in_a_row,
                        restart_in.as_millis(),
                        *crash_loop,
                    ))
                }
                _ => None,
            })
            .collect();
        let code = || "exit code 3".to_owned();
        assert_eq!(
            exits[..4],
            [
                (code(), 1, 20, false),
                (code(), 2, 40, false),
                (code(), 3, 80, true),
                (code(), 4, 80, true),
            ]
        );
        let restarts: Vec<u32> = events
            .iter()
            .filter_map(|e| match e {
                Event::Restarted { restarts, .. } => Some(*restarts),
                _ => None,
            })
            .collect();
        assert_eq!(restarts, [1, 2, 3, 4]);
        // Exited, Restarted, Exited, Restarted, then the third exit.
        assert!(
            events[4].to_string().starts_with(
                "CrashLoopBackOff: crasher crashed 3 times in a row, the last time exit code 3"
            ),
            "{}",
            events[4]
        );
    }

    #[test]
    fn a_process_that_ran_long_enough_starts_again_from_the_first_delay() {
        let dir = tempfile::tempdir().unwrap();
        let mut process = shell(&dir.path().join("slow.log"), "sleep 0.2; exit 1");
        let backoff = Backoff {
            first: Duration::from_millis(10),
            reset_after: Duration::from_millis(100),
            ..Backoff::default()
        };
        let events = supervise_until(backoff, &mut process, 3);
        for event in events {
            if let Event::Exited {
                crashes_in_a_row,
                restart_in,
                ..
            } = event
            {
                assert_eq!((crashes_in_a_row, restart_in), (1, backoff.first));
            }
        }
    }

    #[test]
    fn a_kill_is_reported_with_its_signal() {
        let dir = tempfile::tempdir().unwrap();
        let mut process = shell(&dir.path().join("victim.log"), "exec sleep 30");
        let pid = process.pid();
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        let events = supervise_until(Backoff::default(), &mut process, 1);
        let Event::Exited { how, .. } = &events[0] else {
            panic!("{events:#?}");
        };
        assert_eq!(how, "killed by signal 9 (SIGKILL)");
        assert_ne!(process.pid(), pid, "a new process");
        assert!(
            events[0]
                .to_string()
                .starts_with("crasher exited unexpectedly (killed by signal 9 (SIGKILL))"),
            "{}",
            events[0]
        );
    }
}
