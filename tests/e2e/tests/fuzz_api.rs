//! Every HTTP API fuzzed from its own OpenAPI document by schemathesis, against the whole
//! running system: no 5xx, no status code, content type, header or body the document
//! does not declare, schema-valid requests accepted and schema-invalid ones refused
//! (`--checks all`; `tests/e2e/schemathesis.toml` states the two business rules no JSON
//! Schema can express). A few consumers, restaurants and orders are created first and
//! their ids offered to schemathesis, so requests also reach existing resources.
//! Bounded here; docs/reliability.md has a longer run and its counts.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use ftgo_harness::{SERVICE_BINARIES, prereqs};
use serde_json::Value;

use crate::support::System;

/// Test cases per operation and phase in the test command; the documented long run uses
/// more (`FTGO_FUZZ_EXAMPLES`).
const DEFAULT_EXAMPLES: &str = "25";

/// The seed of the test command's run, chosen once and kept, so that a failure is
/// reproduced by running the test again (`FTGO_FUZZ_SEED` explores others; the seed of
/// every run is printed).
const DEFAULT_SEED: &str = "20261202";

/// What one schemathesis run reported (from its JSON report).
#[derive(Debug)]
struct Run {
    operations: u64,
    test_cases: u64,
    failures: u64,
    errors: u64,
    seed: String,
}

/// Ids that exist, per service binary: `(parameter binding, ids)`. schemathesis draws a
/// parameter from its ids with probability 0.8 (else generates one), so requests also
/// reach past "not found" and unpriced orders: reads, cancels, priced orders, and
/// `expand=consumer` calling consumer-service.
type Known = Vec<(&'static str, Vec<String>)>;

async fn seed(system: &mut System) -> Vec<(&'static str, Known)> {
    let mut consumers = Vec::new();
    let mut restaurants = Vec::new();
    let mut orders = Vec::new();
    for name in ["Ada", "Grace"] {
        let consumer = system.create_consumer(name).await;
        let restaurant = system
            .create_restaurant(&[("samosa", 250), ("dal", 700)])
            .await;
        let order = system
            .place_order(consumer, restaurant, &[("samosa", 2)])
            .await;
        consumers.push(consumer.to_string());
        restaurants.push(restaurant.to_string());
        orders.push(order["id"].as_str().unwrap().to_owned());
    }
    let items = vec!["samosa".to_owned(), "dal".to_owned()];
    vec![
        ("consumer-service", vec![("path.id", consumers.clone())]),
        ("restaurant-service", vec![("path.id", restaurants.clone())]),
        (
            "order-service",
            vec![
                ("path.id", orders),
                ("body.consumer_id", consumers),
                ("body.restaurant_id", restaurants),
                ("body.line_items[*].menu_item_id", items),
            ],
        ),
    ]
}

/// tests/e2e/schemathesis.toml plus the known ids as dictionaries bound to parameters.
fn config_with(known: &Known, reports: &Path) -> std::path::PathBuf {
    let mut config =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml"))
            .unwrap();
    config.push_str("\n[dictionaries]\n");
    for (index, (_, ids)) in known.iter().enumerate() {
        let values: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
        config.push_str(&format!(
            "known{index} = {{ values = [{}] }}\n",
            values.join(", ")
        ));
    }
    config.push_str("\n[parameters]\n");
    for (index, (binding, _)) in known.iter().enumerate() {
        config.push_str(&format!(
            "{binding:?} = {{ dictionary = \"known{index}\", probability = 0.8 }}\n"
        ));
    }
    let path = reports.join("schemathesis.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn run_schemathesis(
    schemathesis: &Path,
    url: &str,
    known: &Known,
    reports: &Path,
) -> (Run, String) {
    let examples =
        std::env::var("FTGO_FUZZ_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.to_owned());
    let seed = std::env::var("FTGO_FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    std::fs::create_dir_all(reports).unwrap();
    let config = config_with(known, reports);
    let report = reports.join("report.json");
    let output = Command::new(schemathesis)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{url}/openapi.json"), "--checks", "all"])
        .args(["--max-examples", &examples, "--seed", &seed])
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

/// The statuses the services answer, and `5` (a prefix) for every 5xx.
const STATUSES: [&str; 9] = ["200", "201", "400", "404", "405", "409", "415", "422", "5"];

/// The service's API responses so far by status (`ftgo_http_requests_total`), to show
/// how far the generated requests got (2xx) besides being refused (4xx).
async fn responses_by_status(system: &mut System, binary: &str) -> BTreeMap<&'static str, f64> {
    let address = system.stack.service(binary, 0).http_address();
    let (_, metrics) = ftgo_harness::http::get(address, "/metrics")
        .await
        .unwrap_or_default();
    STATUSES
        .iter()
        .filter_map(|status| {
            let label = format!("status=\"{status}");
            ftgo_harness::http::metric_value_matching(
                &metrics,
                "ftgo_http_requests_total",
                &[&label],
            )
            .map(|n| (*status, n))
        })
        .collect()
}

#[tokio::test]
async fn every_api_conforms_to_its_openapi_document_under_fuzzing() {
    let schemathesis = prereqs::ensure_schemathesis(&|line| eprintln!("[install] {line}")).unwrap();
    // Random restaurant ids are accepted unpriced at once, not waited for.
    let mut system =
        System::start_with(&[("order-service", "FTGO_ORDERS__REPLICA_WAIT_MS", "0")]).await;
    let known = seed(&mut system).await;
    let reports = system.stack.dir().join("schemathesis");
    let mut problems = Vec::new();
    for binary in SERVICE_BINARIES {
        let url = system.url(binary);
        let before = responses_by_status(&mut system, binary).await;
        let (_, known) = known.iter().find(|(b, _)| *b == binary).unwrap();
        let (run, output) = run_schemathesis(&schemathesis, &url, known, &reports.join(binary));
        eprintln!(
            "[fuzz] {binary}: {} operations, {} test cases, {} failures, {} errors (seed {})",
            run.operations, run.test_cases, run.failures, run.errors, run.seed
        );
        let after = responses_by_status(&mut system, binary).await;
        let spread: Vec<String> = after
            .iter()
            .map(|(status, n)| {
                let name = if *status == "5" { "5xx" } else { status };
                format!("{name}: {}", n - before.get(status).unwrap_or(&0.0))
            })
            .collect();
        eprintln!("[fuzz] {binary} answered {}", spread.join(", "));
        assert!(run.operations > 1, "{binary}: nothing tested: {output}");
        if run.failures > 0 || run.errors > 0 {
            problems.push(format!("{binary}:\n{output}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
