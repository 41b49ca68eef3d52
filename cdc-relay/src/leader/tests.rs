//! The elector against kube's client over a mocked API service (tower-test, as
//! kube-rs/controller-rs tests do), on tokio's paused clock: every request is checked
//! and answered by the test, and time moves only when the test (or an idle runtime)
//! moves it.

use std::collections::HashMap;

use http::{Method, Request, Response};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::ObjectMeta;
use kube::client::Body;
use runtime::config::ConfigSource;
use tokio::time::{Duration, Instant, advance};
use tower_test::mock::{self, SendResponse};

use super::*;
use crate::config::RelaySettings;

const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/ftgo/leases";
const LEASE: &str = "/apis/coordination.k8s.io/v1/namespaces/ftgo/leases/order-relay";
const DURATION: Duration = Duration::from_secs(15);
const RENEW: Duration = Duration::from_secs(5);

fn settings(identity: &str) -> LeaderElectionSettings {
    LeaderElectionSettings {
        enabled: true,
        lease_name: "order-relay".into(),
        namespace: "ftgo".into(),
        holder_identity: identity.into(),
        lease_duration_ms: DURATION.as_millis() as u64,
        renew_interval_ms: RENEW.as_millis() as u64,
    }
}

/// The API server's side of the mocked service.
struct Api {
    handle: mock::Handle<Request<Body>, Response<Body>>,
}

/// One request the client sent, and the way to answer it.
struct Call {
    method: Method,
    path: String,
    lease: Option<Lease>,
    reply: SendResponse<Response<Body>>,
}

impl Call {
    fn answer(self, status: u16, body: &impl serde::Serialize) {
        self.reply.send_response(
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        );
    }

    /// Answers with the Lease written, as stored under `resource_version`.
    fn store(mut self, resource_version: &str) -> Lease {
        let mut lease = self.lease.take().expect("a Lease in the body");
        lease.metadata.resource_version = Some(resource_version.into());
        self.answer(200, &lease);
        lease
    }

    fn refuse(self, code: u16, reason: &str) {
        self.answer(
            code,
            &serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "reason": reason, "code": code, "message": reason,
            }),
        );
    }
}

impl Api {
    fn new() -> (Client, Self) {
        let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
        (Client::new(service, "default"), Self { handle })
    }

    async fn next(&mut self) -> Call {
        let (request, reply) = within(self.handle.next_request()).await.expect("a request");
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let bytes = request.into_body().collect_bytes().await.unwrap();
        let lease = (!bytes.is_empty()).then(|| serde_json::from_slice(&bytes).unwrap());
        Call {
            method,
            path,
            lease,
            reply,
        }
    }

    async fn expect(&mut self, method: Method, path: &str) -> Call {
        let call = self.next().await;
        assert_eq!((&call.method, call.path.as_str()), (&method, path));
        call
    }

    /// A GET of the Lease, answered with `lease` (`None`: not found).
    async fn get(&mut self, lease: Option<&Lease>) {
        let call = self.expect(Method::GET, LEASE).await;
        match lease {
            Some(lease) => call.answer(200, lease),
            None => call.refuse(404, "NotFound"),
        }
    }
}

/// `wait` within a minute of the paused clock: a test whose expectation is not met
/// fails instead of waiting (or, as the elector keeps retrying, spinning) forever.
async fn within<T>(wait: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("not within a minute")
}

fn at(seconds: i64) -> MicroTime {
    MicroTime(Timestamp::from_second(1_800_000_000 + seconds).unwrap())
}

/// A Lease held by `holder`, renewed at `renewed` (seconds on a fixed clock).
fn held_by(holder: &str, renewed: i64, transitions: i32, resource_version: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some("order-relay".into()),
            namespace: Some("ftgo".into()),
            resource_version: Some(resource_version.into()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.into()),
            acquire_time: Some(at(0)),
            renew_time: Some(at(renewed)),
            lease_duration_seconds: Some(15),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }),
    }
}

fn spec(lease: &Lease) -> &LeaseSpec {
    lease.spec.as_ref().expect("spec")
}

/// Runs one round of `elector` while `api` answers as `serve` says. A request `serve`
/// does not expect is left unanswered, so the round never ends: on the paused clock the
/// timeout then fires at once.
async fn round(
    elector: &mut Elector,
    serve: impl std::future::Future<Output = ()>,
) -> Result<bool> {
    let both = async { tokio::join!(elector.try_acquire_or_renew(), serve) };
    let (held, ()) = tokio::time::timeout(Duration::from_secs(3600), both)
        .await
        .expect("the elector sent other requests than expected");
    held
}

#[tokio::test(start_paused = true)]
async fn acquires_an_absent_lease_by_creating_it() {
    let (client, mut api) = Api::new();
    let mut elector = Elector::new(client, &settings("relay-a"));
    let held = round(&mut elector, async {
        api.get(None).await;
        let create = api.expect(Method::POST, LEASES).await;
        let lease = create.lease.as_ref().unwrap();
        assert_eq!(lease.metadata.name.as_deref(), Some("order-relay"));
        let spec = spec(lease);
        assert_eq!(spec.holder_identity.as_deref(), Some("relay-a"));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(spec.lease_transitions, Some(0));
        assert!(spec.renew_time.is_some());
        assert_eq!(spec.acquire_time, spec.renew_time);
        create.store("1");
    })
    .await;
    assert!(held.unwrap(), "the creator holds the Lease");
}

#[tokio::test(start_paused = true)]
async fn a_lease_created_by_another_replica_first_is_not_ours() {
    let (client, mut api) = Api::new();
    let mut elector = Elector::new(client, &settings("relay-a"));
    let held = round(&mut elector, async {
        api.get(None).await;
        api.expect(Method::POST, LEASES)
            .await
            .refuse(409, "AlreadyExists");
    })
    .await;
    assert!(!held.unwrap());
}

#[tokio::test(start_paused = true)]
async fn the_holder_renews_every_interval_keeping_its_acquire_time() {
    let (client, mut api) = Api::new();
    let leadership = Leadership::start_with(client, &settings("relay-a"));
    let role = leadership.role();
    api.get(None).await;
    let mut stored = api.expect(Method::POST, LEASES).await.store("1");
    let acquired = Instant::now();
    for renewal in 1..=3u32 {
        api.get(Some(&stored)).await;
        assert_eq!(*role.borrow(), Role::Leader);
        // The round started renew_interval after the previous one, not earlier.
        let since = acquired.elapsed();
        assert!(since >= RENEW * renewal && since < RENEW * renewal + Duration::from_millis(10));
        let put = api.expect(Method::PUT, LEASE).await;
        let written = put.lease.as_ref().unwrap();
        assert_eq!(
            written.metadata.resource_version, stored.metadata.resource_version,
            "a renewal is conditional on the version read"
        );
        let (before, after) = (spec(&stored), spec(written));
        assert_eq!(after.holder_identity.as_deref(), Some("relay-a"));
        assert_eq!(after.acquire_time, before.acquire_time);
        assert_eq!(after.lease_transitions, Some(0));
        assert!(after.renew_time > before.renew_time, "renewTime moves on");
        stored = put.store(&(renewal + 1).to_string());
    }
    api.get(Some(&stored)).await;
    assert_eq!(*role.borrow(), Role::Leader);
}

#[tokio::test(start_paused = true)]
async fn takes_over_a_lease_whose_holder_stopped_renewing() {
    let (client, mut api) = Api::new();
    let mut elector = Elector::new(client, &settings("relay-a"));
    let silent = held_by("relay-b", 0, 3, "7");
    // The record is judged on our clock from when we first saw it, however old its
    // renewTime looks: the two nodes' clocks are never compared.
    assert!(!round(&mut elector, api.get(Some(&silent))).await.unwrap());
    advance(DURATION - Duration::from_millis(1)).await;
    assert!(!round(&mut elector, api.get(Some(&silent))).await.unwrap());
    advance(Duration::from_millis(1)).await;
    let held = round(&mut elector, async {
        api.get(Some(&silent)).await;
        let put = api.expect(Method::PUT, LEASE).await;
        let written = put.lease.as_ref().unwrap();
        assert_eq!(written.metadata.resource_version.as_deref(), Some("7"));
        let spec = spec(written);
        assert_eq!(spec.holder_identity.as_deref(), Some("relay-a"));
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.acquire_time, spec.renew_time);
        put.store("8");
    })
    .await;
    assert!(held.unwrap(), "taken over after a silent lease duration");
}

#[tokio::test(start_paused = true)]
async fn does_not_take_a_lease_its_holder_keeps_renewing() {
    let (client, mut api) = Api::new();
    let mut elector = Elector::new(client, &settings("relay-a"));
    // relay-b renews every 10 s (within its 15 s); we look every 10 s for 60 s. A PUT
    // would reach the mock unanswered and fail the round's expectations.
    for renewal in 0..6 {
        let renewed = held_by("relay-b", renewal * 10, 3, &renewal.to_string());
        assert!(!round(&mut elector, api.get(Some(&renewed))).await.unwrap());
        advance(Duration::from_secs(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn of_two_replicas_taking_over_at_once_the_api_server_lets_one_win() {
    let (client, mut api) = Api::new();
    let mut elector = Elector::new(client, &settings("relay-a"));
    let silent = held_by("relay-b", 0, 3, "7");
    assert!(!round(&mut elector, api.get(Some(&silent))).await.unwrap());
    advance(DURATION).await;
    let held = round(&mut elector, async {
        api.get(Some(&silent)).await;
        // relay-c wrote first: version 7 is stale.
        api.expect(Method::PUT, LEASE).await.refuse(409, "Conflict");
    })
    .await;
    assert!(!held.unwrap());
}

/// Starts a leadership for relay-a and answers until it holds a new Lease.
async fn leader() -> (Leadership, watch::Receiver<Role>, Api, Lease) {
    let (client, mut api) = Api::new();
    let leadership = Leadership::start_with(client, &settings("relay-a"));
    let role = leadership.role();
    api.get(None).await;
    let stored = api.expect(Method::POST, LEASES).await.store("1");
    (leadership, role, api, stored)
}

#[tokio::test(start_paused = true)]
async fn the_holder_steps_down_before_its_lease_expires_when_it_cannot_renew() {
    let (_leadership, mut role, mut api, _) = leader().await;
    let acquired = Instant::now();
    // Renewals fail from now on. After one failure (5 s) it still leads: it renewed
    // recently enough.
    api.expect(Method::GET, LEASE)
        .await
        .refuse(500, "InternalError");
    let second = api.expect(Method::GET, LEASE).await;
    assert_eq!(*role.borrow(), Role::Leader);
    second.refuse(500, "InternalError");
    within(
        role.wait_for(|r| matches!(r, Role::Unknown(reason) if reason.contains("InternalError"))),
    )
    .await
    .unwrap();
    // Down at lease_duration - renew_interval (10 s): before a standby may take over
    // (15 s after it last saw the record change).
    assert_eq!(acquired.elapsed(), DURATION - RENEW);
}

#[tokio::test(start_paused = true)]
async fn the_holder_steps_down_at_once_when_another_replica_holds_the_lease() {
    let (_leadership, mut role, mut api, _) = leader().await;
    let acquired = Instant::now();
    // Someone took over while our renewals did not get through.
    api.get(Some(&held_by("relay-b", 30, 1, "9"))).await;
    within(role.wait_for(|r| *r == Role::Standby))
        .await
        .unwrap();
    assert_eq!(
        acquired.elapsed(),
        RENEW,
        "at the first renewal that finds it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_graceful_stop_releases_the_lease_for_the_standby() {
    let (leadership, _role, mut api, stored) = leader().await;
    let resign = leadership.resign();
    let serve = async {
        api.get(Some(&stored)).await;
        let put = api.expect(Method::PUT, LEASE).await;
        let spec = spec(put.lease.as_ref().unwrap());
        assert_eq!(spec.holder_identity, None, "released: no holder");
        put.store("2");
    };
    within(async { tokio::join!(resign, serve) }).await;
}

#[tokio::test(start_paused = true)]
async fn a_standby_takes_a_released_lease_at_once() {
    let (client, mut api) = Api::new();
    let mut elector = Elector::new(client, &settings("relay-a"));
    let mut released = held_by("relay-b", 0, 3, "7");
    released.spec.as_mut().unwrap().holder_identity = None;
    let held = round(&mut elector, async {
        api.get(Some(&released)).await;
        let put = api.expect(Method::PUT, LEASE).await;
        assert_eq!(spec(put.lease.as_ref().unwrap()).lease_transitions, Some(4));
        put.store("8");
    })
    .await;
    assert!(held.unwrap());
}

fn load(env: &[(&str, &str)]) -> crate::Result<RelaySettings> {
    let mut vars: HashMap<String, String> = [
        ("FTGO_DATABASE__HOST", "localhost"),
        ("FTGO_DATABASE__NAME", "order_service"),
        ("FTGO_DATABASE__USER", "order_service"),
        ("FTGO_KAFKA__BROKERS", "localhost:9092"),
    ]
    .into_iter()
    .chain(env.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    vars.retain(|_, v| !v.is_empty());
    let settings: RelaySettings = ConfigSource::from_env(vars).load()?;
    settings.leader_election.validate()?;
    Ok(settings)
}

#[test]
fn leader_election_is_off_unless_enabled() {
    let settings = load(&[]).unwrap();
    assert!(!settings.leader_election.enabled);
}

#[test]
fn leader_election_settings_come_from_the_environment_and_errors_name_the_key() {
    let enabled = [
        ("FTGO_LEADER_ELECTION__ENABLED", "true"),
        (
            "FTGO_LEADER_ELECTION__LEASE_NAME",
            "ftgo-order-service-relay",
        ),
        ("FTGO_LEADER_ELECTION__NAMESPACE", "prod"),
        ("FTGO_LEADER_ELECTION__HOLDER_IDENTITY", "relay-7d9f-x2"),
        ("FTGO_LEADER_ELECTION__LEASE_DURATION_MS", "20000"),
        ("FTGO_LEADER_ELECTION__RENEW_INTERVAL_MS", "4000"),
    ];
    let settings = load(&enabled).unwrap().leader_election;
    assert_eq!(
        (
            settings.lease_name.as_str(),
            settings.namespace.as_str(),
            settings.holder_identity.as_str()
        ),
        ("ftgo-order-service-relay", "prod", "relay-7d9f-x2")
    );
    assert_eq!(
        (settings.lease_duration_ms, settings.renew_interval_ms),
        (20_000, 4_000)
    );

    for (key, value, named) in [
        (
            "FTGO_LEADER_ELECTION__HOLDER_IDENTITY",
            "",
            "leader_election.holder_identity",
        ),
        (
            "FTGO_LEADER_ELECTION__RENEW_INTERVAL_MS",
            "12000",
            "leader_election.renew_interval_ms",
        ),
        (
            "FTGO_LEADER_ELECTION__LEASE_DURATION_MS",
            "soon",
            "leader_election.lease_duration_ms",
        ),
    ] {
        let mut env = enabled.to_vec();
        env.retain(|(k, _)| *k != key);
        env.push((key, value));
        let error = load(&env).unwrap_err().to_string();
        assert!(error.contains(named), "{key}={value}: {error}");
    }
}
