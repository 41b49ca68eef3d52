//! Helpers shared by the harness tests.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

/// A `cargo dev up` process; dropping it (also when an assertion fails) stops it, so a
/// failed test leaves no stack running.
pub struct DevUp {
    child: Child,
    /// Holds the addresses file: a test's own, never the user's `~/.cache/ftgo/up.json`.
    dir: tempfile::TempDir,
}

impl DevUp {
    /// Starts `cargo dev up --json` as its own process and reads the addresses it prints.
    pub fn start() -> (Self, Value) {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_dev"))
            .args(["up", "--json", "--no-install", "--no-build"])
            .arg("--addresses-file")
            .arg(dir.path().join("up.json"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let up = Self { child, dir };
        let addresses: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("`dev up --json` printed {line:?}: {e}"));
        (up, addresses)
    }

    /// Where it wrote its addresses.
    pub fn addresses_file(&self) -> PathBuf {
        self.dir.path().join("up.json")
    }

    /// SIGTERM, then its exit status.
    pub fn stop(&mut self) -> ExitStatus {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for DevUp {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.stop();
        }
    }
}

/// Whether a process with this pid exists.
pub fn alive(pid: u32) -> bool {
    kill(Pid::from_raw(pid as i32), None).is_ok()
}

/// Pids still alive after waiting up to `within` for all of them to exit.
pub fn survivors(pids: &[u32], within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
