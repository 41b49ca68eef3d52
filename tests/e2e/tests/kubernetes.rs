//! The chart against a real Kubernetes API server: kube-apiserver 1.37 and etcd, built
//! by `cargo dev install` ([`ftgo_harness::kube`]). Helm's own engine installs the
//! chart, and every object of the release must be stored as Helm sent it; then an
//! upgrade with changed values and a rollback, as users run them.
//!
//! What this catches that rendering and schema checks cannot: objects the API server
//! refuses (validation, admission, immutable fields on upgrade), custom resources that
//! fail their CRD's real schema and CEL rules, or lose fields to its pruning (the
//! Prometheus operator's ServiceMonitor and PrometheusRule, the Gateway API's HTTPRoute:
//! their CRDs, from those projects' own modules, are installed first), and Helm's
//! release bookkeeping across upgrade and rollback. No pod runs (no scheduler, no
//! kubelet): Deployments are stored, not rolled out.

use std::time::Instant;

use ftgo_harness::kube::{ApiServer, Helm, Revision};
use ftgo_harness::prereqs;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::core::GroupVersionKind;
use serde_json::{Value, json};

const RELEASE: &str = "ftgo";
const NAMESPACE: &str = "ftgo";

/// The install: the defaults plus every optional object whose kind comes from a CRD or
/// is otherwise off (ServiceMonitor, PrometheusRule, the dashboard's ConfigMap).
fn install_values() -> Value {
    json!({
        "metrics": {
            "serviceMonitor": {"enabled": true},
            "prometheusRule": {"enabled": true},
            "grafanaDashboard": {"enabled": true},
        },
    })
}

/// The upgrade: a new image tag, more replicas, both entry points (Ingress and
/// HTTPRoute), other Lease timings, topic settings, required anti-affinity and a
/// stricter budget; what an operator changes between releases.
fn upgrade_values() -> Value {
    let gateway = json!([{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "gateway-system"}}}]);
    json!({
        "imageTag": "0.2.0",
        "metrics": install_values()["metrics"],
        "ingress": {
            "enabled": true,
            "className": "nginx",
            "host": "ftgo.example",
            "from": [{"namespaceSelector": {"matchLabels": {
                "kubernetes.io/metadata.name": "ingress-nginx"}}}],
        },
        "httpRoute": {
            "enabled": true,
            "parentRefs": [{"name": "shared", "namespace": "gateway-system"}],
            "hostnames": ["ftgo.example"],
            "from": gateway,
        },
        "services": {"order-service": {"replicas": 3}},
        "relay": {"replicas": 3, "leaderElection": {"leaseDurationMs": 20000}},
        "kafka": {"topics": {"partitions": 6, "replicationFactor": 3}},
        "scheduling": {"podAntiAffinity": "required"},
        "podDisruptionBudget": {"minAvailable": 2},
    })
}

#[tokio::test]
async fn the_chart_installs_upgrades_and_rolls_back_on_a_real_api_server() {
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("ftgo-kube-")
        .tempdir()
        .unwrap();
    let server = ApiServer::start(dir.path(), dir.path()).await.unwrap();
    let crds = prereqs::kube_tools().unwrap().crds;
    server.install_crds(&crds).await.unwrap();
    let ready = started.elapsed();
    let helm = Helm::new(RELEASE, NAMESPACE).unwrap();

    let installed = helm.install(&server, &install_values()).unwrap();
    assert_eq!(
        (installed.revision, installed.status.as_str()),
        (1, "deployed")
    );
    for kind in [
        "ServiceMonitor",
        "PrometheusRule",
        "Deployment",
        "Role",
        "NetworkPolicy",
    ] {
        assert!(
            installed.documents.iter().any(|d| d["kind"] == kind),
            "the install has no {kind}"
        );
    }
    assert_stored(&server, &installed.documents).await;
    assert_eq!(
        order_service(&server).await,
        (2, "ftgo/order-service:0.1.0".into())
    );

    let upgraded = helm.upgrade(&server, &upgrade_values()).unwrap();
    assert_eq!(
        (upgraded.revision, upgraded.status.as_str()),
        (2, "deployed")
    );
    assert_stored(&server, &upgraded.documents).await;
    assert_eq!(
        order_service(&server).await,
        (3, "ftgo/order-service:0.2.0".into())
    );
    let entry_points = ["Ingress", "HTTPRoute"].map(|kind| {
        upgraded
            .documents
            .iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("the upgrade has no {kind}"))
            .clone()
    });

    helm.rollback(&server, 1).unwrap();
    let history = helm.history(&server).unwrap();
    let statuses =
        [(1, "superseded"), (2, "superseded"), (3, "deployed")].map(|(revision, status)| {
            Revision {
                revision,
                status: status.into(),
            }
        });
    assert_eq!(history, statuses);
    assert_stored(&server, &installed.documents).await;
    assert_eq!(
        order_service(&server).await,
        (2, "ftgo/order-service:0.1.0".into())
    );
    for object in &entry_points {
        assert!(
            stored(&server, object).await.is_none(),
            "the rollback left {} {}",
            object["kind"],
            object["metadata"]["name"]
        );
    }
    eprintln!(
        "chart on kube-apiserver {}: API server and CRDs ready in {:.1} s; install ({} objects), \
         upgrade ({} objects), rollback, all stored as sent; {:.1} s in all",
        prereqs::kube::KUBE_VERSION,
        ready.as_secs_f64(),
        installed.documents.len(),
        upgraded.documents.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The order-service Deployment's replicas and image.
async fn order_service(server: &ApiServer) -> (i32, String) {
    let deployments: Api<Deployment> = Api::namespaced(server.admin(), NAMESPACE);
    let deployment = deployments.get("ftgo-order-service").await.unwrap();
    let spec = deployment.spec.unwrap();
    let image = spec.template.spec.unwrap().containers[0]
        .image
        .clone()
        .unwrap();
    (spec.replicas.unwrap(), image)
}

/// The stored copy of `object` (the server's answer to a GET), if it exists.
async fn stored(server: &ApiServer, object: &Value) -> Option<Value> {
    let (group, version) = match object["apiVersion"].as_str().unwrap().split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", object["apiVersion"].as_str().unwrap()),
    };
    let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
    let namespace = object["metadata"]["namespace"]
        .as_str()
        .unwrap_or(NAMESPACE);
    let api = server.dynamic_api(&gvk, Some(namespace)).await.unwrap();
    let name = object["metadata"]["name"].as_str().unwrap();
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

/// Checks that every object is stored with every field Helm sent, as sent (the server
/// may add defaults, but a field it dropped — pruned by a CRD's schema, say — fails).
async fn assert_stored(server: &ApiServer, objects: &[Value]) {
    for object in objects {
        let what = format!("{} {}", object["kind"], object["metadata"]["name"]);
        let stored = stored(server, object)
            .await
            .unwrap_or_else(|| panic!("{what} is not stored"));
        let mut differences = Vec::new();
        compare(object, &stored, String::new(), &mut differences);
        assert!(
            differences.is_empty(),
            "{what} is stored otherwise than sent:\n{}",
            differences.join("\n")
        );
    }
}

/// Collects the paths where `actual` lacks or differs from a field of `expected`.
fn compare(expected: &Value, actual: &Value, path: String, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(expected), Value::Object(actual)) => {
            for (key, value) in expected {
                let at = format!("{path}.{key}");
                match actual.get(key) {
                    Some(found) => compare(value, found, at, out),
                    // The API's Go types drop empty lists and maps (`omitempty`): the
                    // same object (e.g. a NetworkPolicy's `ingress: []`, deny all).
                    None if is_empty(value) => {}
                    None => out.push(format!("{at}: missing (sent {value})")),
                }
            }
        }
        (Value::Array(expected), Value::Array(actual)) if expected.len() == actual.len() => {
            for (index, (e, a)) in expected.iter().zip(actual).enumerate() {
                compare(e, a, format!("{path}[{index}]"), out);
            }
        }
        _ if expected == actual => {}
        _ => out.push(format!("{path}: sent {expected}, stored {actual}")),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        Value::Object(fields) => fields.is_empty(),
        _ => false,
    }
}
