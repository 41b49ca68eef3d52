//! `cargo dev load` against `cargo dev up`, as a person runs them: `up` writes its
//! addresses, `load` reads them, places every kind of order at a rate, follows each to
//! its outcome, and exits 0 only if the system got all of them right. The smoke run of
//! `cargo dev test`, gating it as the reference microservice demos gate their CI on
//! their load generators.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::DevUp;

/// `cargo dev load` with `args`.
fn dev_load(args: &[&str]) -> (Output, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_dev"))
        .arg("load")
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

#[test]
fn dev_load_passes_against_dev_up_and_fails_when_orders_do_not_end_in_time() {
    let (mut up, printed) = DevUp::start();
    let file = up.addresses_file();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(written, printed, "the file holds what `up` printed");
    let file = file.to_str().unwrap();

    // 20 turns of the standard mix (5 valid orders, 4 rejections of each kind) at 20/s.
    let (output, stdout, stderr) =
        dev_load(&["--addresses", file, "--rate", "20/s", "--count", "180"]);
    eprintln!("{stderr}{stdout}");
    assert!(output.status.success(), "{}", output.status);
    assert!(
        stdout.contains(
            "ended: VALIDATED 100, REJECTED 80 (each as its inputs dictate); wrong 0; \
             lost (not ended within 30s) 0"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("accepted (201): 180; not accepted: 0"),
        "{stdout}"
    );
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("PASS")
    );
    // Progress every second of the 9 s run.
    let progress = stderr
        .lines()
        .filter(|l| l.starts_with("[load]") && l.contains(" s  placed "))
        .count();
    assert!(progress >= 5, "{stderr}");

    // No order can end within 0 ms of its acceptance: all count as lost, and the
    // command says so with its exit status.
    let (output, stdout, _) = dev_load(&["--addresses", file, "--count", "9", "--deadline", "0ms"]);
    assert!(!output.status.success());
    assert!(stdout.contains("FAIL: 9 orders lost"), "{stdout}");

    assert!(up.stop().success());
    assert!(
        !std::path::Path::new(file).exists(),
        "`up` removes its addresses file when it stops"
    );
}
