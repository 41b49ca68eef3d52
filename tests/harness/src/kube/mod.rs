//! A real Kubernetes API server on loopback: etcd and kube-apiserver as built by
//! [`crate::prereqs::ensure_kube_apiserver`], for the tests that need Kubernetes to
//! accept objects, authenticate and authorise calls, and hold Leases.
//!
//! No controller-manager, scheduler or kubelet runs: objects are stored and validated
//! (schemas, CRD schemas and their CEL rules, admission, immutable fields, RBAC), but no
//! pod is ever scheduled. That is enough for what the tests ask of it — Helm's install,
//! upgrade and rollback of the chart, tokens of the chart's ServiceAccount from the
//! TokenRequest API, and the relays' Leases under the chart's Role — and it starts in
//! seconds.
//!
//! How it is run, and why:
//! - **etcd**: one member on two free loopback ports, its data in the given directory,
//!   `--unsafe-no-fsync` (test data; fsync on a busy shared disk slows every write).
//! - **TLS**: a CA and serving certificate made for this server ([`pki`]); clients trust
//!   the CA through their kubeconfig, as with a real cluster.
//! - **Admin access**: a static token (`--token-auth-file`) of a user in
//!   `system:masters`; [`ApiServer::admin_kubeconfig`] carries it. Everything else is
//!   authorised by RBAC only (`--authorization-mode=RBAC`), so a ServiceAccount gets
//!   exactly what its Roles grant.
//! - **Service accounts**: tokens are signed with a key made here
//!   (`--service-account-signing-key-file`) and verified with its public half;
//!   `--service-account-issuer` is the in-cluster default's form.
//! - `--endpoint-reconciler-type=none`: the `kubernetes` Service's endpoints would name
//!   127.0.0.1, which Endpoints validation refuses, and nothing here needs them.

mod helm;
mod pki;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::{Api, Client};
use nix::sys::signal::Signal;

pub use helm::{Helm, Release, Revision};

use crate::error::{Error, IoContext, Result};
use crate::ports::{free_port, retry_on_lost_port};
use crate::prereqs;
use crate::process::{ManagedProcess, recipe_of};

/// etcd and kube-apiserver each start within seconds; a busy two-core machine may take
/// a minute for the API server's post-start hooks (RBAC bootstrap roles, priorities).
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// The field manager of what the harness applies (CRDs, objects of a rendered chart).
const FIELD_MANAGER: &str = "ftgo-harness";

/// A running API server with its etcd; dropping it stops both (the API server first).
pub struct ApiServer {
    apiserver: ManagedProcess,
    etcd: ManagedProcess,
    url: String,
    ca: PathBuf,
    dir: PathBuf,
    admin_kubeconfig: PathBuf,
    admin: Client,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("url", &self.url)
            .field("apiserver", &self.apiserver)
            .field("etcd", &self.etcd)
            .finish_non_exhaustive()
    }
}

impl ApiServer {
    /// Starts etcd and kube-apiserver with their files in `root/kube` and their logs in
    /// `logs` (`etcd.log`, `kube-apiserver.log`); returns once `/readyz` says ready.
    /// Fails, naming `cargo dev install`, if the binaries were never built.
    pub async fn start(root: &Path, logs: &Path) -> Result<Self> {
        let tools = prereqs::kube_tools()?;
        let dir = root.join("kube");
        std::fs::create_dir_all(&dir).context(|| format!("create {}", dir.display()))?;
        let started = Instant::now();
        let (etcd, etcd_url) = start_etcd(&tools.etcd, &dir, &logs.join("etcd.log")).await?;
        let pki = pki::write(&dir)?;
        let admin_token = uuid::Uuid::new_v4().simple().to_string();
        let tokens = dir.join("tokens.csv");
        // token,user,uid,"groups"
        pki::write_file(
            &tokens,
            &format!("{admin_token},ftgo-admin,ftgo-admin,\"system:masters\"\n"),
            true,
        )?;
        let log = logs.join("kube-apiserver.log");
        // Kept across attempts: only the API server's port can have been taken.
        let mut etcd = Some(etcd);
        retry_on_lost_port(&log, async |_| {
            let port = free_port()?;
            let mut command = Command::new(&tools.kube_apiserver);
            command
                .arg(format!("--etcd-servers={etcd_url}"))
                .args(["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1"])
                .arg(format!("--secure-port={port}"))
                .arg(format!("--tls-cert-file={}", pki.serving_cert.display()))
                .arg(format!(
                    "--tls-private-key-file={}",
                    pki.serving_key.display()
                ))
                .arg(format!("--token-auth-file={}", tokens.display()))
                .arg("--authorization-mode=RBAC")
                .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
                .arg(format!(
                    "--service-account-key-file={}",
                    pki.service_account_public.display()
                ))
                .arg(format!(
                    "--service-account-signing-key-file={}",
                    pki.service_account_key.display()
                ))
                .args([
                    "--service-cluster-ip-range=10.96.0.0/16",
                    "--endpoint-reconciler-type=none",
                    "--profiling=false",
                ]);
            let apiserver = ManagedProcess::spawn(
                "kube-apiserver",
                recipe_of(&command),
                &log,
                Signal::SIGTERM,
            )?;
            let url = format!("https://127.0.0.1:{port}");
            let admin_kubeconfig = dir.join("admin.kubeconfig");
            write_kubeconfig(&admin_kubeconfig, &url, &pki.ca, &admin_token, "default")?;
            let admin = client_from(&admin_kubeconfig).await?;
            let mut server = Self {
                apiserver,
                etcd: etcd
                    .take()
                    .expect("etcd is back after every failed attempt"),
                url,
                ca: pki.ca.clone(),
                dir: dir.clone(),
                admin_kubeconfig,
                admin,
            };
            match server.wait_ready().await {
                Ok(()) => {
                    eprintln!(
                        "[harness] kube-apiserver ready at {} after {:.1} s (with etcd)",
                        server.url,
                        started.elapsed().as_secs_f64()
                    );
                    Ok(server)
                }
                Err(e) => {
                    let Self { etcd: kept, .. } = server;
                    etcd = Some(kept);
                    Err(e)
                }
            }
        })
        .await
    }

    /// Waits until `/readyz` answers 200 (every post-start hook done, etcd reachable).
    async fn wait_ready(&mut self) -> Result<()> {
        let admin = self.admin.clone();
        self.apiserver
            .wait_until(
                "/readyz answering ok",
                STARTUP_TIMEOUT,
                Duration::from_millis(200),
                || {
                    let admin = admin.clone();
                    async move {
                        let request = http::Request::get("/readyz").body(Vec::new());
                        match request {
                            Ok(request) => admin.request_text(request).await.is_ok(),
                            Err(_) => false,
                        }
                    }
                },
            )
            .await
    }

    /// A kubeconfig with the admin's token (user `ftgo-admin`, group `system:masters`),
    /// for Helm and other clients that act as the cluster's administrator.
    pub fn admin_kubeconfig(&self) -> &Path {
        &self.admin_kubeconfig
    }

    /// A client acting as the administrator.
    pub fn admin(&self) -> Client {
        self.admin.clone()
    }

    /// Writes `path`: a kubeconfig for this server that authenticates with `token`
    /// (e.g. a ServiceAccount's, from [`Self::service_account_token`]), with `namespace`
    /// as its default, as the relay reads it through `KUBECONFIG`.
    pub fn write_kubeconfig(&self, path: &Path, token: &str, namespace: &str) -> Result<()> {
        write_kubeconfig(path, &self.url, &self.ca, token, namespace)
    }

    /// A client that authenticates with `token`, default namespace `namespace`.
    pub async fn client_with_token(&self, token: &str, namespace: &str) -> Result<Client> {
        let path = self.dir.join(format!(
            "token-{}.kubeconfig",
            uuid::Uuid::new_v4().simple()
        ));
        self.write_kubeconfig(&path, token, namespace)?;
        client_from(&path).await
    }

    /// A token of ServiceAccount `namespace/name` from the TokenRequest API (as the
    /// kubelet gets one for a pod), valid for an hour, for the API server's audience.
    pub async fn service_account_token(&self, namespace: &str, name: &str) -> Result<String> {
        let accounts: Api<ServiceAccount> = Api::namespaced(self.admin(), namespace);
        let request = TokenRequest {
            spec: TokenRequestSpec {
                expiration_seconds: Some(3600),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let answer = accounts
            .create_token_request(name, &PostParams::default(), &request)
            .await?;
        answer.status.map(|s| s.token).ok_or_else(|| {
            Error::KubeObject(format!("TokenRequest for {namespace}/{name}: no token"))
        })
    }

    /// Creates or updates `object` (any kind the server serves, as JSON) by server-side
    /// apply, as the administrator; returns what the server stored.
    pub async fn apply(&self, object: &serde_json::Value) -> Result<DynamicObject> {
        let object: DynamicObject = serde_json::from_value(object.clone())
            .map_err(|e| Error::KubeObject(format!("not an object: {e}")))?;
        let types = object
            .types
            .clone()
            .ok_or_else(|| Error::KubeObject("an object without apiVersion and kind".into()))?;
        let gvk = GroupVersionKind::try_from(&types)
            .map_err(|e| Error::KubeObject(format!("apiVersion {}: {e}", types.api_version)))?;
        let name = object
            .metadata
            .name
            .clone()
            .ok_or_else(|| Error::KubeObject(format!("a {} without a name", gvk.kind)))?;
        let api = self
            .dynamic_api(&gvk, object.metadata.namespace.as_deref())
            .await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        Ok(api.patch(&name, &params, &Patch::Apply(&object)).await?)
    }

    /// The API for objects of `gvk` (in `namespace` if namespaced), found by discovery.
    pub async fn dynamic_api(
        &self,
        gvk: &GroupVersionKind,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>> {
        let (resource, capabilities) = kube::discovery::pinned_kind(&self.admin, gvk).await?;
        Ok(match (capabilities.scope, namespace) {
            (kube::discovery::Scope::Namespaced, Some(namespace)) => {
                Api::namespaced_with(self.admin(), namespace, &resource)
            }
            (kube::discovery::Scope::Namespaced, None) => {
                Api::default_namespaced_with(self.admin(), &resource)
            }
            (kube::discovery::Scope::Cluster, _) => Api::all_with(self.admin(), &resource),
        })
    }

    /// Installs the CustomResourceDefinitions in `files` (YAML) and waits until the server
    /// serves each (condition `Established`).
    pub async fn install_crds(&self, files: &[PathBuf]) -> Result<()> {
        let crds: Api<CustomResourceDefinition> = Api::all(self.admin());
        for file in files {
            let text =
                std::fs::read_to_string(file).context(|| format!("read {}", file.display()))?;
            let object: serde_json::Value = serde_saphyr::from_str(&text)
                .map_err(|e| Error::KubeObject(format!("{}: {e}", file.display())))?;
            let applied = self.apply(&object).await?;
            let name = applied.metadata.name.unwrap_or_default();
            let deadline = Instant::now() + STARTUP_TIMEOUT;
            loop {
                let crd = crds.get(&name).await?;
                let established = crd
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                if established {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(Error::KubeObject(format!("CRD {name} not established")));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }
}

/// Starts etcd in `dir/etcd` on free ports (new ones while they turn out taken) and
/// waits until `/health` says healthy; returns it with its client URL.
async fn start_etcd(binary: &Path, dir: &Path, log: &Path) -> Result<(ManagedProcess, String)> {
    retry_on_lost_port(log, async |_| {
        let data = dir.join("etcd");
        let _ = std::fs::remove_dir_all(&data);
        let (client, peer) = (free_port()?, free_port()?);
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let mut command = Command::new(binary);
        command
            .args(["--name", "ftgo"])
            .arg("--data-dir")
            .arg(&data)
            .args(["--listen-client-urls", &client_url])
            .args(["--advertise-client-urls", &client_url])
            .args(["--listen-peer-urls", &peer_url])
            .args(["--initial-advertise-peer-urls", &peer_url])
            .arg(format!("--initial-cluster=ftgo={peer_url}"))
            .args(["--log-level", "warn", "--unsafe-no-fsync"]);
        let mut etcd = ManagedProcess::spawn("etcd", recipe_of(&command), log, Signal::SIGTERM)?;
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, client));
        etcd.wait_until(
            "/health answering healthy",
            STARTUP_TIMEOUT,
            Duration::from_millis(100),
            || async move {
                crate::http::get(address, "/health")
                    .await
                    .is_some_and(|(status, body)| status == 200 && body.contains("true"))
            },
        )
        .await?;
        Ok((etcd, client_url))
    })
    .await
}

/// Writes a kubeconfig (JSON, which every kubeconfig reader takes as YAML).
fn write_kubeconfig(path: &Path, url: &str, ca: &Path, token: &str, namespace: &str) -> Result<()> {
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "ftgo-test",
        "clusters": [{"name": "ftgo-test", "cluster": {
            "server": url,
            "certificate-authority": ca,
        }}],
        "users": [{"name": "ftgo-test", "user": {"token": token}}],
        "contexts": [{"name": "ftgo-test", "context": {
            "cluster": "ftgo-test",
            "user": "ftgo-test",
            "namespace": namespace,
        }}],
    });
    pki::write_file(path, &config.to_string(), true)
}

/// A client configured by the kubeconfig at `path`.
async fn client_from(path: &Path) -> Result<Client> {
    let kubeconfig = Kubeconfig::read_from(path)
        .map_err(|e| Error::KubeObject(format!("{}: {e}", path.display())))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| Error::KubeObject(format!("{}: {e}", path.display())))?;
    Ok(Client::try_from(config)?)
}
