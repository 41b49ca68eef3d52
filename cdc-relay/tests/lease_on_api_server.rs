//! Two relay processes electing a leader through real Lease objects on a real API server
//! (kube-apiserver 1.37 and etcd, built by `cargo dev install`), authenticated as the
//! chart's relay ServiceAccount with a token from the TokenRequest API, authorised by the
//! chart's Role and RoleBinding as the chart renders them: one streams, the other stands
//! by, kill -9 of the holder hands over, nothing is lost. And a SubjectAccessReview
//! matrix shows that account may do exactly what the relays need, no more.
//!
//! `leader_election.rs` covers the rest of the election (losing the Lease, SIGTERM)
//! against a stand-in for the Lease API; this is where the API server itself decides:
//! resourceVersion conflicts, RBAC, token authentication, TLS.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ftgo_harness::kube::{ApiServer, Helm};
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};

use crate::leader_election::{commit_batch, wait_streaming_alone};
use crate::support::*;

const RELEASE: &str = "ftgo";
const NAMESPACE: &str = "ftgo";
/// Pod names, as the chart's downward API would pass them.
const REPLICAS: [&str; 2] = ["ftgo-order-service-relay-0", "ftgo-order-service-relay-1"];
const WITHIN: Duration = Duration::from_secs(60);

/// What the chart renders, with the defaults.
struct Chart {
    documents: Vec<Value>,
}

impl Chart {
    fn object(&self, kind: &str, name: &str) -> &Value {
        self.documents
            .iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("the chart renders no {kind} {name}"))
    }

    /// The relay ServiceAccount and its Role and RoleBinding.
    fn relay_rbac(&self) -> Vec<&Value> {
        let rbac: Vec<&Value> = self
            .documents
            .iter()
            .filter(|d| {
                ["ServiceAccount", "Role", "RoleBinding"].contains(&d["kind"].as_str().unwrap())
            })
            .collect();
        assert_eq!(rbac.len(), 3, "one ServiceAccount, Role and RoleBinding");
        rbac
    }

    /// An environment variable of a Deployment's first container, as rendered.
    fn env(&self, deployment: &str, name: &str) -> String {
        self.object("Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("{deployment} has no {name} value"))
            .to_owned()
    }
}

fn replica_env<'a>(
    identity: &'a str,
    kubeconfig: &'a str,
    lease: &'a str,
) -> [(&'a str, &'a str); 8] {
    [
        ("KUBECONFIG", kubeconfig),
        ("FTGO_LEADER_ELECTION__ENABLED", "true"),
        ("FTGO_LEADER_ELECTION__LEASE_NAME", lease),
        ("FTGO_LEADER_ELECTION__NAMESPACE", NAMESPACE),
        ("FTGO_LEADER_ELECTION__HOLDER_IDENTITY", identity),
        ("FTGO_LEADER_ELECTION__LEASE_DURATION_MS", "2000"),
        ("FTGO_LEADER_ELECTION__RENEW_INTERVAL_MS", "500"),
        ("FTGO_RELAY__MAX_BACKOFF_MS", "500"),
    ]
}

#[tokio::test]
async fn relays_elect_through_real_leases_as_the_charts_service_account() {
    let mut stack = stack_with_outbox().await;
    let started = Instant::now();
    let server = ApiServer::start(stack.dir(), stack.logs_dir())
        .await
        .unwrap();
    let chart = Chart {
        documents: Helm::new(RELEASE, NAMESPACE)
            .unwrap()
            .render(&json!({}))
            .unwrap(),
    };
    server
        .apply(&json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}))
        .await
        .unwrap();
    for object in chart.relay_rbac() {
        server.apply(object).await.unwrap();
    }
    // What the chart gives the order-service relays: their account and Lease.
    let deployment = "ftgo-order-service-relay";
    let account =
        chart.object("Deployment", deployment)["spec"]["template"]["spec"]["serviceAccountName"]
            .as_str()
            .unwrap()
            .to_owned();
    let lease = chart.env(deployment, "FTGO_LEADER_ELECTION__LEASE_NAME");
    let token = server
        .service_account_token(NAMESPACE, &account)
        .await
        .unwrap();

    // The token is the account's, as the API server authenticates it.
    let as_relay = server.client_with_token(&token, NAMESPACE).await.unwrap();
    let review = Api::<SelfSubjectReview>::all(as_relay)
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .unwrap();
    let user = review.status.unwrap().user_info.unwrap();
    assert_eq!(
        user.username.as_deref(),
        Some(format!("system:serviceaccount:{NAMESPACE}:{account}").as_str())
    );
    assert_only_what_the_relays_need(&server, &user.username.unwrap(), user.groups.unwrap()).await;

    // Two relays, as the chart runs them, on the token.
    let kubeconfig = stack.dir().join("relay.kubeconfig");
    server
        .write_kubeconfig(&kubeconfig, &token, NAMESPACE)
        .unwrap();
    let kubeconfig = kubeconfig.display().to_string();
    start_relay(&mut stack, &replica_env(REPLICAS[0], &kubeconfig, &lease)).await;
    let standby = stack
        .start_relay(SERVICE, &replica_env(REPLICAS[1], &kubeconfig, &lease))
        .await
        .unwrap();
    standby.wait_ready(WITHIN).await.unwrap();
    wait_streaming_alone(&mut stack, 0).await;
    assert_eq!(
        stack
            .relay_instance(SERVICE, 1)
            .metric("ftgo_relay_leader")
            .await,
        Some(0.0)
    );
    let leases: Api<Lease> = Api::namespaced(server.admin(), NAMESPACE);
    let held = leases.get(&lease).await.unwrap().spec.unwrap();
    assert_eq!(held.holder_identity.as_deref(), Some(REPLICAS[0]));
    assert_eq!(held.lease_duration_seconds, Some(2));
    let mut all = commit_batch(&stack, "first").await;

    // kill -9 of the holder: its Lease expires unrenewed, the standby takes it over.
    let killed = Instant::now();
    stack.relay_instance(SERVICE, 0).kill9();
    wait_streaming_alone(&mut stack, 1).await;
    let takeover = killed.elapsed();
    let held = leases.get(&lease).await.unwrap().spec.unwrap();
    assert_eq!(held.holder_identity.as_deref(), Some(REPLICAS[1]));
    assert_eq!(held.lease_transitions, Some(1));
    all.extend(commit_batch(&stack, "after-kill").await);

    let delivery = verify(&all, &read_all(&stack, &all, Duration::from_secs(120)));
    eprintln!(
        "relays on kube-apiserver as {account}: takeover {:.1} s after kill -9 of the holder \
         (Lease 2 s); {delivery}; {:.1} s from the API server's start",
        takeover.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(delivery.lost, 0, "{delivery}");
}

/// Asks the API server (SubjectAccessReview, as the administrator) what `user` in
/// `groups` may do, over every verb on the relays' Leases, other Leases and other kinds,
/// and checks the answers are exactly: create Leases (create cannot be limited by name),
/// get and update the release's three relay Leases. No list, watch or patch (renewals are
/// replaces), no delete, nothing on other Leases or in other namespaces, no Secrets.
async fn assert_only_what_the_relays_need(server: &ApiServer, user: &str, groups: Vec<String>) {
    const VERBS: [&str; 8] = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];
    let relay_leases: Vec<String> = ["order-service", "consumer-service", "restaurant-service"]
        .iter()
        .map(|s| format!("{RELEASE}-{s}-relay"))
        .collect();
    // (namespace, group, resource, name)
    let mut targets: Vec<(&str, &str, &str, &str)> = relay_leases
        .iter()
        .map(|l| (NAMESPACE, "coordination.k8s.io", "leases", l.as_str()))
        .collect();
    targets.extend([
        (NAMESPACE, "coordination.k8s.io", "leases", ""),
        (NAMESPACE, "coordination.k8s.io", "leases", "another-app"),
        (
            "kube-system",
            "coordination.k8s.io",
            "leases",
            "kube-scheduler",
        ),
        ("default", "coordination.k8s.io", "leases", ""),
        (NAMESPACE, "", "secrets", ""),
        (NAMESPACE, "", "secrets", "ftgo-db-credentials"),
        (NAMESPACE, "", "configmaps", ""),
        (NAMESPACE, "", "pods", ""),
        (NAMESPACE, "", "serviceaccounts", ""),
        (NAMESPACE, "apps", "deployments", ""),
        (NAMESPACE, "rbac.authorization.k8s.io", "roles", ""),
    ]);
    let reviews: Api<SubjectAccessReview> = Api::all(server.admin());
    let mut allowed = BTreeSet::new();
    for &(namespace, group, resource, name) in &targets {
        for verb in VERBS {
            let review = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: Some(user.to_owned()),
                    groups: Some(groups.clone()),
                    resource_attributes: Some(ResourceAttributes {
                        namespace: Some(namespace.to_owned()),
                        group: Some(group.to_owned()),
                        resource: Some(resource.to_owned()),
                        name: (!name.is_empty()).then(|| name.to_owned()),
                        verb: Some(verb.to_owned()),
                        ..ResourceAttributes::default()
                    }),
                    ..SubjectAccessReviewSpec::default()
                },
                ..SubjectAccessReview::default()
            };
            let answer = reviews
                .create(&PostParams::default(), &review)
                .await
                .unwrap();
            if answer.status.is_some_and(|s| s.allowed) {
                allowed.insert(format!("{verb} {namespace}/{resource}/{name}"));
            }
        }
    }
    let mut expected = BTreeSet::new();
    for lease in &relay_leases {
        for verb in ["get", "update", "create"] {
            expected.insert(format!("{verb} {NAMESPACE}/leases/{lease}"));
        }
    }
    expected.insert(format!("create {NAMESPACE}/leases/"));
    expected.insert(format!("create {NAMESPACE}/leases/another-app"));
    assert_eq!(allowed, expected);
    eprintln!(
        "SubjectAccessReview of {user}: {} of {} verb/object pairs allowed, exactly the relays' needs",
        allowed.len(),
        targets.len() * VERBS.len()
    );
}
