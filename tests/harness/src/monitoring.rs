//! Where the repository keeps its monitoring files, so the local Prometheus and the Helm
//! chart read the same ones (`charts/ftgo/files/`): one source of truth for the alert
//! rules, the console dashboards and the Grafana dashboard.

use std::path::PathBuf;

/// `charts/ftgo/files` of this checkout.
pub fn files_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../charts/ftgo/files")
}

/// The alerting rules (a Prometheus rule file; the chart's PrometheusRule embeds it).
pub fn alert_rules() -> PathBuf {
    files_dir().join("alerts.yaml")
}

/// The rules' unit tests, for `promtool test rules`.
pub fn alert_rule_tests() -> PathBuf {
    files_dir().join("alerts_test.yaml")
}

/// Prometheus console templates (`--web.console.templates`).
pub fn consoles_dir() -> PathBuf {
    files_dir().join("consoles")
}

/// Libraries the console templates share (`--web.console.libraries`).
pub fn console_libraries_dir() -> PathBuf {
    files_dir().join("console_libraries")
}

/// The overview console, relative to Prometheus's URL.
pub const OVERVIEW_CONSOLE: &str = "/consoles/ftgo-overview.html";

/// The Grafana dashboard the chart ships as a ConfigMap.
pub fn grafana_dashboard() -> PathBuf {
    files_dir().join("grafana/ftgo-overview.json")
}
