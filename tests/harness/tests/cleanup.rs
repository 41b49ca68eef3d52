use std::process::Command;
use std::time::Duration;

use ftgo_harness::Stack;

use crate::support::{alive, survivors};

const PIDS_FILE: &str = "FTGO_TEST_PIDS_FILE";

/// Run only as the child process of `a_panicking_test_leaves_no_server_behind`.
#[tokio::test]
#[ignore = "panics on purpose; run as a child by a_panicking_test_leaves_no_server_behind"]
async fn panics_while_holding_a_stack() {
    let stack = Stack::start().await.unwrap();
    // Open a session so PostgreSQL has a backend process to clean up too.
    let _client = stack.database("order_service").connect().await.unwrap();
    let pids = stack.server_pids();
    let file = std::env::var(PIDS_FILE).expect("run by the parent test");
    std::fs::write(file, serde_json::to_string(&pids).unwrap()).unwrap();
    panic!("deliberate panic while the stack is running");
}

#[test]
fn a_panicking_test_leaves_no_server_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pids_file = dir.path().join("pids.json");
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "cleanup::panics_while_holding_a_stack",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(PIDS_FILE, &pids_file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child test should fail");
    assert!(stderr.contains("deliberate panic"), "{stderr}");
    let pids: Vec<u32> =
        serde_json::from_str(&std::fs::read_to_string(&pids_file).unwrap()).unwrap();
    assert!(
        pids.len() >= 3,
        "postmaster, a backend and the broker: {pids:?}"
    );
    let left = survivors(&pids, Duration::from_secs(5));
    assert!(left.is_empty(), "still running after the panic: {left:?}");
}

#[tokio::test]
async fn dropping_the_stack_stops_every_server() {
    let stack = Stack::start().await.unwrap();
    let pids = stack.server_pids();
    assert!(pids.iter().all(|p| alive(*p)));
    let dir = stack.dir().to_owned();
    drop(stack);
    let left = survivors(&pids, Duration::from_secs(5));
    assert!(left.is_empty(), "still running: {left:?}");
    assert!(
        !dir.exists(),
        "stack directory {} not removed",
        dir.display()
    );
}
