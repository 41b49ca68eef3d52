//! Helpers shared by the harness tests.

use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;

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
