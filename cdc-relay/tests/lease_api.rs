//! A stand-in for the Kubernetes API's Lease endpoints, for relay processes: the test can
//! hand the Lease to another holder at once and read it without a client or credentials
//! (`lease_on_api_server.rs` runs the election on a real kube-apiserver). It keeps Leases
//! as the API server does for what the relay uses: GET, POST (409 AlreadyExists) and PUT conditional on `metadata.resourceVersion`
//! (409 Conflict), each write bumping the version. It serves from a thread of its own:
//! the test's runtime blocks at times (reading the topic, waiting for a process to
//! exit), and a stand-in that stops answering then would fake an API outage.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde_json::{Value, json};

type Leases = Arc<Mutex<HashMap<String, Value>>>;

/// The running stand-in.
pub struct LeaseApi {
    address: SocketAddr,
    leases: Leases,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for LeaseApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl LeaseApi {
    pub fn start() -> Self {
        let leases = Leases::default();
        let app = Router::new()
            .route(
                "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
                post(create),
            )
            .route(
                "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/{name}",
                get(read).put(replace),
            )
            .with_state(leases.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Self {
            address,
            leases,
            stop: Some(stop),
        }
    }

    /// A kubeconfig (plain HTTP, no credentials, namespace `ftgo`) in `dir`, for
    /// `KUBECONFIG`.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig.yaml");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: stand-in\n\
             clusters: [{{name: stand-in, cluster: {{server: 'http://{}'}}}}]\n\
             users: [{{name: relay, user: {{}}}}]\n\
             contexts: [{{name: stand-in, context: {{cluster: stand-in, user: relay, namespace: ftgo}}}}]\n",
            self.address
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The holder of Lease `name`, if it exists and has one.
    pub fn holder(&self, name: &str) -> Option<String> {
        let leases = self.leases.lock().unwrap();
        leases.get(name)?["spec"]["holderIdentity"]
            .as_str()
            .map(str::to_owned)
    }

    /// Writes `holder` into Lease `name` as another replica (or an operator) would.
    pub fn hand_to(&self, name: &str, holder: &str) {
        let mut leases = self.leases.lock().unwrap();
        let lease = leases.get_mut(name).expect("the Lease exists");
        lease["spec"]["holderIdentity"] = json!(holder);
        let version = next_version(lease);
        lease["metadata"]["resourceVersion"] = json!(version);
    }
}

fn next_version(lease: &Value) -> String {
    let current: u64 = lease["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (current + 1).to_string()
}

fn status(code: StatusCode, reason: &str) -> (StatusCode, Json<Value>) {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure",
        "reason": reason, "code": code.as_u16(), "message": reason,
    });
    (code, Json(body))
}

async fn read(
    State(leases): State<Leases>,
    UrlPath((_, name)): UrlPath<(String, String)>,
) -> (StatusCode, Json<Value>) {
    match leases.lock().unwrap().get(&name) {
        Some(lease) => (StatusCode::OK, Json(lease.clone())),
        None => status(StatusCode::NOT_FOUND, "NotFound"),
    }
}

async fn create(
    State(leases): State<Leases>,
    UrlPath(_): UrlPath<String>,
    Json(mut lease): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let name = lease["metadata"]["name"].as_str().unwrap().to_owned();
    let mut leases = leases.lock().unwrap();
    if leases.contains_key(&name) {
        return status(StatusCode::CONFLICT, "AlreadyExists");
    }
    lease["metadata"]["resourceVersion"] = json!("1");
    leases.insert(name, lease.clone());
    (StatusCode::CREATED, Json(lease))
}

async fn replace(
    State(leases): State<Leases>,
    UrlPath((_, name)): UrlPath<(String, String)>,
    Json(mut lease): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut leases = leases.lock().unwrap();
    let Some(stored) = leases.get(&name) else {
        return status(StatusCode::NOT_FOUND, "NotFound");
    };
    if lease["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"] {
        return status(StatusCode::CONFLICT, "Conflict");
    }
    lease["metadata"]["resourceVersion"] = json!(next_version(stored));
    leases.insert(name, lease.clone());
    (StatusCode::OK, Json(lease))
}
