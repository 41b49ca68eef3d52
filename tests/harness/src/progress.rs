//! Saying what a long step is doing while it does it.

use std::sync::Arc;
use std::time::Instant;

/// Where the lines go.
type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Receives one line per step of a long operation, such as each part of the stack
/// coming up with the time it took. `cargo dev up` prints them, so a person sees where
/// the time goes; the default says nothing, which keeps the tests' output quiet.
#[derive(Clone, Default)]
pub struct Progress(Option<Sink>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(reported)"
        } else {
            "Progress(silent)"
        })
    }
}

impl Progress {
    /// Hands every line to `say`.
    pub fn new(say: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(say)))
    }

    /// Reports `line`.
    pub fn say(&self, line: &str) {
        if let Some(say) = &self.0 {
            say(line);
        }
    }

    /// Reports that `what` is done, with the time since `since`.
    pub fn done(&self, what: &str, since: Instant) {
        self.say(&format!("{what} ({:.1} s)", since.elapsed().as_secs_f64()));
    }
}
