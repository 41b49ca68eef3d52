//! Headless Chromium (Debian's `chromium` package): renders a page as a person's browser
//! would, for the dashboard checks (`--dump-dom`) and the screenshot (`--screenshot`).

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, IoContext, Result};
use crate::prereqs::chromium_bin;

/// How long one Chromium run may take.
const TIMEOUT: Duration = Duration::from_secs(90);

/// Virtual time Chromium gives a page before it dumps or shoots it, so scripts' requests
/// (the console's graphs) complete. Below the console's 10 s meta refresh: a reload
/// inside the budget would start the wait again.
const SETTLE: &str = "--virtual-time-budget=5000";

/// The DOM of `url` after Chromium loaded it and its scripts ran, serialised as HTML.
pub async fn dump_dom(url: &str) -> Result<String> {
    let output = run(&["--dump-dom".to_owned(), url.to_owned()]).await?;
    Ok(String::from_utf8_lossy(&output).into_owned())
}

/// A PNG of `url` at `width`x`height` CSS pixels, written to `path`.
pub async fn screenshot(url: &str, path: &Path, width: u32, height: u32) -> Result<()> {
    run(&[
        format!("--screenshot={}", path.display()),
        format!("--window-size={width},{height}"),
        "--hide-scrollbars".to_owned(),
        url.to_owned(),
    ])
    .await?;
    if path.is_file() {
        Ok(())
    } else {
        Err(Error::Chromium(format!(
            "no screenshot written to {}",
            path.display()
        )))
    }
}

async fn run(args: &[String]) -> Result<Vec<u8>> {
    let profile = tempfile::Builder::new()
        .prefix("ftgo-chromium-")
        .tempdir()
        .context(|| "create chromium profile directory".into())?;
    let mut command = tokio::process::Command::new(chromium_bin());
    command
        // Headless, and quiet: no sandbox (CI runs as root), no GPU, and no background
        // traffic to Google's services (there is no network here beyond loopback).
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            SETTLE,
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(TIMEOUT, command.output())
        .await
        .map_err(|_| Error::Chromium(format!("no result within {TIMEOUT:?}")))?
        .context(|| format!("run {}", chromium_bin().display()))?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
        Err(Error::Chromium(format!(
            "exited with {}: {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )))
    }
}
