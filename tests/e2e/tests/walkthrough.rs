//! The README's walk-through, run exactly as written: a script with no pauses between
//! its steps (the order placed right after its restaurant was created) reaches
//! VALIDATED.

use std::time::Duration;

use serde_json::Value;

use crate::support::System;

/// The `sh` block after the README's `<!-- walkthrough -->` marker, unindented.
fn walkthrough() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let after = readme
        .split_once("<!-- walkthrough -->")
        .expect("the README marks its walk-through")
        .1;
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("a sh block follows the marker")
        .0;
    block
        .lines()
        .map(|line| line.strip_prefix("   ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_readme_walkthrough_run_as_a_script_reaches_validated() {
    let mut system = System::start().await;
    let script = walkthrough();
    let run = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("ORDERS", system.url("order-service"))
        .env("CONSUMERS", system.url("consumer-service"))
        .env("RESTAURANTS", system.url("restaurant-service"))
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the walk-through finishes within 60 s")
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}:\n{script}\n{stdout}{stderr}",
        output.status
    );
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(last["state"], "VALIDATED", "{stdout}");
    assert_eq!(last["total_cents"], 500, "{stdout}");
    assert_eq!(last["consumer"]["name"], "Ada", "{stdout}");
}
