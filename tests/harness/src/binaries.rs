//! Finding the workspace's own binaries (the relay, the services) to run as processes.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The path of workspace binary `name`, built in the same profile as the running
/// executable (`target/debug/` for tests and `cargo dev up`). `FTGO_BIN_DIR` overrides.
pub fn path(name: &str) -> Result<PathBuf> {
    let dir = match std::env::var_os("FTGO_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().map_err(|e| Error::Io {
                context: "locate the running executable".into(),
                source: e,
            })?;
            let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
            // Test binaries live in target/<profile>/deps.
            if dir.ends_with("deps") {
                dir.pop();
            }
            dir
        }
    };
    let path = dir.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::Prerequisite {
            what: "workspace binary",
            reason: format!(
                "{} is missing: run `cargo build --workspace --bins` (cargo dev does)",
                path.display()
            ),
        })
    }
}
