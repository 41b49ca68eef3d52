//! A child process the harness owns: its output goes to a log file, and it is stopped
//! when the handle is dropped (also during a panic's unwinding). It keeps the recipe it
//! was started from, so it can be started again as it was (a restart after a crash, by a
//! test or by the supervisor of `cargo dev up`).

use std::fs::File;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, IoContext, Result};

/// How long a process gets to stop after its stop signal before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// Builds the command a process runs; called again for every restart, because a
/// [`Command`] cannot be cloned or spawned twice with its settings intact (uid, cleared
/// environment).
pub type Recipe = Box<dyn Fn() -> Command + Send + Sync>;

/// A running child process with its log file.
pub struct ManagedProcess {
    name: String,
    recipe: Recipe,
    child: Option<Child>,
    started: Instant,
    log: PathBuf,
    stop_signal: Signal,
}

impl std::fmt::Debug for ManagedProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedProcess")
            .field("name", &self.name)
            .field("pid", &self.pid())
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// A recipe that builds `command` again each time (program, arguments, environment,
/// working directory): for processes whose command is fixed once written.
pub fn recipe_of(command: &Command) -> impl Fn() -> Command + Send + Sync + 'static {
    let program = command.get_program().to_owned();
    let args: Vec<std::ffi::OsString> = command.get_args().map(ToOwned::to_owned).collect();
    let envs: Vec<(std::ffi::OsString, Option<std::ffi::OsString>)> = command
        .get_envs()
        .map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned)))
        .collect();
    let dir = command.get_current_dir().map(Path::to_path_buf);
    move || {
        let mut command = Command::new(&program);
        command.args(&args);
        for (key, value) in &envs {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        if let Some(dir) = &dir {
            command.current_dir(dir);
        }
        command
    }
}

impl ManagedProcess {
    /// Spawns the command `recipe` builds, with stdout and stderr appended to `log`.
    /// `stop_signal` is what a graceful stop sends (SIGINT is PostgreSQL's "fast
    /// shutdown", SIGTERM for most).
    pub fn spawn(
        name: &str,
        recipe: impl Fn() -> Command + Send + Sync + 'static,
        log: &Path,
        stop_signal: Signal,
    ) -> Result<Self> {
        let mut process = Self {
            name: name.to_owned(),
            recipe: Box::new(recipe),
            child: None,
            started: Instant::now(),
            log: log.to_owned(),
            stop_signal,
        };
        process.respawn()?;
        Ok(process)
    }

    /// Starts the process again from its recipe, with the same log (appended to). If
    /// it still runs, it is stopped gracefully first.
    pub fn respawn(&mut self) -> Result<()> {
        self.stop();
        let file = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .context(|| format!("open log {}", self.log.display()))?;
        let err = file.try_clone().context(|| "clone log handle".into())?;
        let mut command = (self.recipe)();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .context(|| format!("spawn {} ({:?})", self.name, command.get_program()))?;
        self.child = Some(child);
        self.started = Instant::now();
        Ok(())
    }

    /// How long ago it was last (re)started.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// The component's name, as used in messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id (0 once it has been stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Whether the process is still running (reaping it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The exit status if the process has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Sends a signal (e.g. SIGSTOP/SIGCONT to simulate an unresponsive process).
    pub fn signal(&self, signal: Signal) -> Result<()> {
        if let Some(child) = &self.child {
            kill(Pid::from_raw(child.id() as i32), signal).map_err(|e| Error::Io {
                context: format!("send {signal} to {}", self.name),
                source: e.into(),
            })?;
        }
        Ok(())
    }

    /// Kills the process with SIGKILL (a crash, as `kill -9`) and reaps it.
    pub fn kill9(&mut self) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let _ = child.kill();
        child.wait().ok()
    }

    /// Stops the process gracefully: its stop signal, then SIGKILL after the grace period.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.stop_with(self.stop_signal, STOP_GRACE)
    }

    /// Sends `signal` and waits up to `grace` for the exit; kills it after that.
    pub fn stop_with(&mut self, signal: Signal, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let pid = Pid::from_raw(child.id() as i32);
        // A paused process cannot act on a stop signal.
        let _ = kill(pid, Signal::SIGCONT);
        let _ = kill(pid, signal);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok()
    }

    /// The last `lines` lines of the log, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.log, lines)
    }

    /// Polls `probe` every `every` until it holds: how every harness process waits to
    /// be usable. Fails with the log tail if the process exits first, or if `within`
    /// passes (the error then says it was waiting for `what`).
    pub(crate) async fn wait_until<F, Fut>(
        &mut self,
        what: &str,
        within: Duration,
        every: Duration,
        mut probe: F,
    ) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        loop {
            if !self.is_running() {
                return Err(self.start_error("it exited during start-up"));
            }
            if probe().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(self.start_error(format!("{what}: not within {} s", within.as_secs())));
            }
            tokio::time::sleep(every).await;
        }
    }

    /// An error saying this process failed to start, with its log tail.
    pub(crate) fn start_error(&self, reason: impl Into<String>) -> Error {
        Error::Start {
            name: self.name.clone(),
            reason: reason.into(),
            log: self.log.display().to_string(),
            log_tail: self.log_tail(30),
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `lines` lines of a file ("" if unreadable).
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
