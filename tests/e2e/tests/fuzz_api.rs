//! Every HTTP API fuzzed from its own OpenAPI document by schemathesis, against the whole
//! running system: no 5xx, no status code, content type, header or body the document
//! does not declare, schema-valid requests accepted and schema-invalid ones refused
//! (`--checks all`; `tests/e2e/schemathesis.toml` states the two business rules no JSON
//! Schema can express). Bounded here; docs/reliability.md has a longer run and its counts.

use std::path::Path;
use std::process::Command;

use ftgo_harness::{SERVICE_BINARIES, prereqs};
use serde_json::Value;

use crate::support::System;

/// Test cases per operation and phase in the test command; the documented long run uses
/// more (`FTGO_FUZZ_EXAMPLES`).
const DEFAULT_EXAMPLES: &str = "25";

/// What one schemathesis run reported (from its JSON report).
#[derive(Debug)]
struct Run {
    operations: u64,
    test_cases: u64,
    failures: u64,
    errors: u64,
    seed: String,
}

fn run_schemathesis(schemathesis: &Path, url: &str, reports: &Path) -> (Run, String) {
    let examples =
        std::env::var("FTGO_FUZZ_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.to_owned());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml");
    std::fs::create_dir_all(reports).unwrap();
    let report = reports.join("report.json");
    let output = Command::new(schemathesis)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{url}/openapi.json"), "--checks", "all"])
        .args(["--max-examples", &examples])
        // One worker: with more, hypothesis's lambda introspection races on Python 3.11
        // ("AST constructor recursion depth mismatch"), an error of the tool, not the API.
        .args([
            "--workers",
            "1",
            "--no-color",
            "--generation-database",
            "none",
        ])
        .args(["--report", "json", "--report-json-path"])
        .arg(&report)
        .current_dir(reports)
        .output()
        .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let json: Value = serde_json::from_slice(
        &std::fs::read(&report).unwrap_or_else(|e| panic!("no report ({e}): {text}")),
    )
    .unwrap();
    let count = |pointer: &str| json.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let run = Run {
        operations: count("/operations/tested"),
        test_cases: count("/test_cases/generated"),
        failures: count("/test_cases/unique_failures"),
        errors: count("/test_cases/errored") + count("/operations/errored"),
        // The seed is a 128-bit integer: read it from the text, not as a JSON number.
        seed: text
            .lines()
            .find_map(|line| line.strip_prefix("Seed: "))
            .unwrap_or("?")
            .to_owned(),
    };
    assert!(
        output.status.success() || run.failures > 0 || run.errors > 0,
        "schemathesis failed without a failure: {text}"
    );
    (run, text)
}

#[tokio::test]
async fn every_api_conforms_to_its_openapi_document_under_fuzzing() {
    let schemathesis = prereqs::ensure_schemathesis(&|line| eprintln!("[install] {line}")).unwrap();
    let mut system = System::start().await;
    let reports = system.stack.dir().join("schemathesis");
    let mut problems = Vec::new();
    for binary in SERVICE_BINARIES {
        let url = system.url(binary);
        let (run, output) = run_schemathesis(&schemathesis, &url, &reports.join(binary));
        eprintln!(
            "[fuzz] {binary}: {} operations, {} test cases, {} failures, {} errors (seed {})",
            run.operations, run.test_cases, run.failures, run.errors, run.seed
        );
        assert!(run.operations > 1, "{binary}: nothing tested: {output}");
        if run.failures > 0 || run.errors > 0 {
            problems.push(format!("{binary}:\n{output}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
