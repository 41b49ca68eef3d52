//! What a person watching the system sees: the alert rules pass promtool and their unit
//! tests; with the stack under a small load, every expression of the dashboards (the
//! Prometheus console and the Grafana JSON) returns data from the local Prometheus, and
//! the console, rendered by headless Chromium, shows a number in every panel and draws
//! every graph.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use ftgo_harness::load::{self, Kind, Mix, Pacing, Plan, Target, Until};
use ftgo_harness::{Prometheus, Stack, StackOptions, chromium, monitoring, prereqs};
use serde_json::Value;

const WITHIN: Duration = Duration::from_secs(90);

/// The names of the alerts in the shared rule file (`- alert: NAME` lines).
fn alert_names() -> BTreeSet<String> {
    std::fs::read_to_string(monitoring::alert_rules())
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .map(|name| name.trim().to_owned())
        .collect()
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new(prereqs::promtool_bin())
        .args(args)
        .current_dir(monitoring::files_dir())
        .output()
        .expect("promtool runs (cargo dev install installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn alert_rules_pass_promtool_and_every_alert_is_tested_firing_and_not_firing() {
    let checked = promtool(&["check", "rules", "alerts.yaml"]);
    let alerts = alert_names();
    assert!(
        checked.contains(&format!("SUCCESS: {} rules found", alerts.len())),
        "{checked}"
    );
    let tested = promtool(&["test", "rules", "alerts_test.yaml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");

    // Each `alertname:` case is followed by its `exp_alerts:`; `[]` means "must not fire".
    let tests = std::fs::read_to_string(monitoring::alert_rule_tests()).unwrap();
    let lines: Vec<&str> = tests.lines().map(str::trim).collect();
    let (mut firing, mut silent) = (BTreeSet::new(), BTreeSet::new());
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.strip_prefix("alertname: ") else {
            continue;
        };
        let expected = lines[i + 1..]
            .iter()
            .find_map(|l| l.strip_prefix("exp_alerts:"))
            .expect("each case names its expected alerts");
        if expected.trim() == "[]" {
            silent.insert(name.to_owned());
        } else {
            firing.insert(name.to_owned());
        }
    }
    assert_eq!(firing, alerts, "alerts without a case where they fire");
    assert_eq!(
        silent, alerts,
        "alerts without a case where they stay silent"
    );
    eprintln!(
        "promtool: {} alerts checked, each tested firing and not firing",
        alerts.len()
    );
}

fn console_template() -> String {
    std::fs::read_to_string(monitoring::consoles_dir().join("ftgo-overview.html")).unwrap()
}

/// Every text of `template` between `open` and the next `close`, in order.
fn between(template: &str, open: &str, close: char) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find(open) {
        rest = &rest[start + open.len()..];
        let end = rest.find(close).expect("closing delimiter");
        found.push(rest[..end].to_owned());
        rest = &rest[end + 1..];
    }
    found
}

/// Every expression of the console: the numbers' `query` calls (Go raw strings,
/// query `EXPR`) and the graphs' PromConsole.Graph parameters (expr: 'EXPR').
fn console_expressions() -> Vec<String> {
    let template = console_template();
    let mut expressions = between(&template, "query `", '`');
    expressions.extend(between(&template, "expr: '", '\''));
    expressions
}

/// Every target expression of the Grafana dashboard.
fn grafana_expressions() -> Vec<String> {
    let text = std::fs::read_to_string(monitoring::grafana_dashboard()).unwrap();
    let dashboard: Value = serde_json::from_str(&text).expect("the Grafana dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    panels
        .iter()
        .flat_map(|panel| {
            let targets = panel["targets"]
                .as_array()
                .expect("every panel has targets");
            assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
            targets
                .iter()
                .map(|t| t["expr"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// Polls `expr` until Prometheus returns at least one sample with a finite value.
async fn finite_samples(prometheus: &Prometheus, expr: &str) -> Vec<Value> {
    let deadline = Instant::now() + WITHIN;
    loop {
        let result = prometheus.query(expr).await.unwrap_or_default();
        let finite = result.iter().any(|sample| {
            sample["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(f64::is_finite)
        });
        if finite {
            return result;
        }
        assert!(
            Instant::now() < deadline,
            "no data within {WITHIN:?} for {expr}: {result:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// GETs order `id` from order-service every 250 ms until aborted.
fn keep_reading(order_service: std::net::SocketAddr, id: &str) -> tokio::task::JoinHandle<()> {
    let path = format!("/v1/orders/{id}");
    tokio::spawn(async move {
        loop {
            let _ = ftgo_harness::http::get(order_service, &path).await;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
}

/// The numbers shown in each panel of a rendered page: panel id -> texts of its `value`
/// elements.
fn panel_values(dom: &str) -> Vec<(String, Vec<String>)> {
    dom.split(r#"<div class="panel"#)
        .skip(1)
        .map(|panel| {
            let id = panel
                .split(r#"id=""#)
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or_default()
                .to_owned();
            let values = panel
                .split(r#"value">"#)
                .skip(1)
                .map(|s| s.split('<').next().unwrap_or_default().trim().to_owned())
                .collect();
            (id, values)
        })
        .collect()
}

#[tokio::test]
async fn under_load_every_dashboard_expression_has_data_and_the_console_shows_numbers() {
    let mut stack = Stack::start_with(StackOptions {
        prometheus: true,
        ..StackOptions::default()
    })
    .await
    .expect("the stack with Prometheus starts");
    // 5 good orders and 1 with an item not on the menu, followed to their outcomes.
    let plan = Plan {
        mix: Mix::one_in(Kind::OffMenu, 5),
        pacing: Pacing {
            rate: 10.0,
            until: Until::Count(6),
            in_flight: 6,
        },
        deadline: WITHIN,
    };
    let target = Target::from_addresses(&stack.addresses()).unwrap();
    let report = load::run(&target, plan, |_| {}).await.unwrap();
    assert!(report.passed(), "{report}");
    assert_eq!((report.validated, report.rejected), (5, 1), "{report}");
    // A reader keeps polling an order while the dashboards are checked, as a person
    // watching a live system would have traffic: rates over the last minute must not
    // fall to zero (and quantiles to NaN) just because the checks took a minute.
    let reader = keep_reading(
        stack.service("order-service", 0).http_address(),
        &report.accepted_of(Kind::Valid)[0].to_string(),
    );
    let prometheus = stack.prometheus();

    // The local Prometheus loaded the shared rule file.
    let (status, rules) = prometheus.get("/api/v1/rules").await.unwrap();
    assert_eq!(status, 200, "{rules}");
    for alert in alert_names() {
        assert!(
            rules.contains(&format!("\"name\":\"{alert}\"")),
            "{alert} not loaded"
        );
    }

    // It scraped what happened: 5 validated, 1 rejected.
    for (expr, expected) in [
        (r#"sum(ftgo_orders_total{outcome="validated"})"#, 5.0),
        (r#"sum(ftgo_orders_total{outcome="rejected"})"#, 1.0),
    ] {
        let deadline = Instant::now() + WITHIN;
        loop {
            let samples = finite_samples(prometheus, expr).await;
            let value: f64 = samples[0]["value"][1].as_str().unwrap().parse().unwrap();
            if value == expected {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{expr} = {value}, not {expected}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    // Every dashboard expression returns data.
    let console = console_expressions();
    assert!(console.len() >= 20, "expressions found: {console:?}");
    for expr in &console {
        finite_samples(prometheus, expr).await;
    }
    let console: BTreeSet<String> = console.into_iter().collect();
    let grafana: BTreeSet<String> = grafana_expressions().into_iter().collect();
    let unchecked: Vec<&String> = grafana.difference(&console).collect();
    assert!(
        unchecked.is_empty(),
        "Grafana expressions not on the console (so not checked): {unchecked:?}"
    );

    // The page as a browser renders it: every panel shows numbers, none says "no data".
    let dom = chromium::dump_dom(&prometheus.console_url()).await.unwrap();
    assert!(dom.contains("FTGO overview"), "{dom}");
    assert!(!dom.contains("no data"), "a panel has no data:\n{dom}");
    let template = console_template();
    let panels = panel_values(&dom);
    let expected: Vec<String> = panel_values(&template).into_iter().map(|p| p.0).collect();
    assert_eq!(
        panels.iter().map(|p| &p.0).collect::<Vec<_>>(),
        expected.iter().collect::<Vec<_>>(),
        "panels rendered"
    );
    for (id, values) in &panels {
        let numbers = values
            .iter()
            .filter(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
            .count();
        assert!(numbers > 0, "panel {id} shows no number: {values:?}");
    }
    // Every graph was drawn (Rickshaw draws an SVG once its query_range answered).
    let graphs = between(&template, r#"<div class="graph" id=""#, '"');
    assert!(!graphs.is_empty());
    for graph in &graphs {
        let drawn = dom
            .split(&format!(r#"<div class="graph" id="{graph}">"#))
            .nth(1)
            .and_then(|rest| rest.split("</table>").next())
            .is_some_and(|graph| graph.contains("<svg"));
        assert!(drawn, "graph {graph} not drawn:\n{dom}");
    }
    reader.abort();
    eprintln!(
        "dashboards: {} console expressions with data ({} also on the Grafana dashboard), \
         {} console panels with numbers, {} graphs drawn",
        console.len(),
        grafana.len(),
        panels.len(),
        graphs.len()
    );
}
