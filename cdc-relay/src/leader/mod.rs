//! Leader election between the relay replicas of one database, through a
//! `coordination.k8s.io/v1` Lease.
//!
//! Two replicas run per database; the one holding the Lease streams, the other stands
//! by. The Lease only decides who *tries*: the replication slot, which PostgreSQL lets one
//! connection stream at a time, stays the fence. A new holder that finds the slot still
//! active (its predecessor not gone yet) waits and retries, never steals.
//!
//! The algorithm is client-go's `leaderelection` (the one Kubernetes' own controllers
//! use), written against kube's typed API because no maintained crate fits (see
//! docs/architecture.md, "Choices"):
//! - a Lease that does not exist is created with us as holder;
//! - a Lease another replica holds is taken over only when its record (holder, renew
//!   time, …) has not changed for its `leaseDurationSeconds`, measured on *our*
//!   monotonic clock from when we first saw that record: no clocks of two nodes are
//!   ever compared;
//! - every write is a replace carrying the `resourceVersion` just read, so of two
//!   replicas writing at once the API server refuses one (409 Conflict);
//! - the holder renews every `renew_interval`, and steps down on its own once it has
//!   not renewed for `lease_duration - renew_interval`, before any standby may take
//!   over; it also steps down at once when it finds another holder;
//! - on a graceful stop the holder releases the Lease (empty holder), so the standby
//!   takes over without waiting for it to expire.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::Result;
use crate::config::LeaderElectionSettings;

/// What this replica may do, as the elector last found out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// It holds the Lease: it may stream.
    Leader,
    /// Another replica holds the Lease (or it is being handed over): wait.
    Standby,
    /// The Lease cannot be read or written (the reason): wait, and say why.
    Unknown(String),
}

/// Leader election for one relay process: a background elector publishing this
/// replica's [`Role`], or, when leader election is off, a fixed [`Role::Leader`].
#[derive(Debug)]
pub struct Leadership {
    role: watch::Receiver<Role>,
    driver: Driver,
}

/// What sets the role.
#[derive(Debug)]
enum Driver {
    /// Nothing: the role never changes. Holding the sender keeps the channel open, so
    /// waiting for a change waits forever instead of failing.
    Fixed { _open: watch::Sender<Role> },
    /// The elector task, and how to stop it.
    Elector(oneshot::Sender<()>, JoinHandle<()>),
}

impl Leadership {
    /// Always the leader: leader election is off (one relay, the local stack).
    pub fn always() -> Self {
        let (fixed, role) = watch::channel(Role::Leader);
        Self {
            role,
            driver: Driver::Fixed { _open: fixed },
        }
    }

    /// Starts electing with the Kubernetes client of the environment (in a pod: its
    /// service account).
    pub async fn start(settings: &LeaderElectionSettings) -> Result<Self> {
        let client = Client::try_default().await?;
        Ok(Self::start_with(client, settings))
    }

    /// Starts electing through `client`.
    pub fn start_with(client: Client, settings: &LeaderElectionSettings) -> Self {
        let elector = Elector::new(client, settings);
        let (role_tx, role) = watch::channel(Role::Unknown("no answer from the Lease yet".into()));
        let (stop_tx, stop_rx) = oneshot::channel();
        let task = tokio::spawn(elector.run(role_tx, stop_rx));
        Self {
            role,
            driver: Driver::Elector(stop_tx, task),
        }
    }

    /// This replica's role, updated as it changes.
    pub fn role(&self) -> watch::Receiver<Role> {
        self.role.clone()
    }

    /// Stops electing and, if this replica holds the Lease, releases it. Call it once
    /// streaming has stopped, so the standby finds the slot free soon.
    pub async fn resign(self) {
        if let Driver::Elector(stop, task) = self.driver {
            let _ = stop.send(());
            let _ = task.await;
        }
    }
}

/// The times written into the Lease: the wall clock read once, advanced by the monotonic
/// clock, so renew times never go backwards when the wall clock is stepped. Nobody
/// compares them with another clock (see the module documentation); they only have to
/// change with every renewal and be readable by people.
#[derive(Debug, Clone, Copy)]
struct LeaseClock {
    wall: Timestamp,
    at: Instant,
}

impl LeaseClock {
    fn new() -> Self {
        Self {
            wall: Timestamp::now(),
            at: Instant::now(),
        }
    }

    fn now(&self) -> MicroTime {
        MicroTime(
            self.wall
                .saturating_add(self.at.elapsed())
                .unwrap_or(self.wall),
        )
    }
}

/// The last Lease record seen, and when it was first seen as it is.
#[derive(Debug)]
struct Observed {
    record: LeaseSpec,
    since: Instant,
}

/// One replica's side of the election: reads and writes the Lease.
#[derive(Debug)]
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    renew_interval: Duration,
    clock: LeaseClock,
    observed: Option<Observed>,
}

impl Elector {
    /// An elector for the Lease `settings.lease_name` in `settings.namespace` (empty:
    /// the client's default namespace).
    pub fn new(client: Client, settings: &LeaderElectionSettings) -> Self {
        let api = if settings.namespace.is_empty() {
            Api::default_namespaced(client)
        } else {
            Api::namespaced(client, &settings.namespace)
        };
        Self {
            api,
            name: settings.lease_name.clone(),
            identity: settings.holder_identity.clone(),
            lease_duration: Duration::from_millis(settings.lease_duration_ms),
            renew_interval: Duration::from_millis(settings.renew_interval_ms),
            clock: LeaseClock::new(),
            observed: None,
        }
    }

    /// One round: creates the Lease if absent, renews it if ours, takes it over if its
    /// holder has gone silent for its lease duration. `Ok(true)` when we hold it now.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool> {
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.record(None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => Ok(self.observe(created)),
                // Another replica created it first.
                Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(false),
                Err(e) => Err(e.into()),
            };
        };
        let record = current.spec.clone().unwrap_or_default();
        if self.observed.as_ref().is_none_or(|o| o.record != record) {
            self.observed = Some(Observed {
                record: record.clone(),
                since: Instant::now(),
            });
        }
        let holder = record.holder_identity.as_deref().unwrap_or_default();
        let ours = holder == self.identity;
        if !holder.is_empty() && !ours && !self.expired() {
            return Ok(false);
        }
        if !ours {
            tracing::info!(lease = %self.name, previous = %holder, "taking over the Lease");
        }
        let lease = Lease {
            spec: Some(self.record(Some(&record))),
            // Keeps the resourceVersion read: a concurrent write makes this one fail.
            metadata: current.metadata,
        };
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => Ok(self.observe(written)),
            Err(kube::Error::Api(status)) if status.is_conflict() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the Lease up if we hold it: empty holder, so a standby takes it at once.
    pub async fn release(&mut self) -> Result<()> {
        let Some(current) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let record = current.spec.clone().unwrap_or_default();
        if record.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        let lease = Lease {
            spec: Some(LeaseSpec {
                holder_identity: None,
                renew_time: Some(self.clock.now()),
                lease_duration_seconds: Some(1),
                ..record
            }),
            metadata: current.metadata,
        };
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await?;
        tracing::info!(lease = %self.name, "released the Lease");
        Ok(())
    }

    /// The record to write over `current` (`None`: the Lease is being created): a
    /// renewal if `current` is ours, else an acquisition (one more transition).
    fn record(&self, current: Option<&LeaseSpec>) -> LeaseSpec {
        let now = self.clock.now();
        let seconds = self.lease_duration.as_millis().div_ceil(1000);
        let (acquire_time, transitions) = match current {
            Some(c) if c.holder_identity.as_deref() == Some(self.identity.as_str()) => {
                (c.acquire_time.clone(), c.lease_transitions.unwrap_or(0))
            }
            Some(c) => (None, c.lease_transitions.unwrap_or(0) + 1),
            None => (None, 0),
        };
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(i32::try_from(seconds).unwrap_or(i32::MAX)),
            acquire_time: acquire_time.or_else(|| Some(now.clone())),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Remembers what we wrote; `true` (we hold it).
    fn observe(&mut self, written: Lease) -> bool {
        self.observed = Some(Observed {
            record: written.spec.unwrap_or_default(),
            since: Instant::now(),
        });
        true
    }

    /// Whether the observed record is older than its own lease duration.
    fn expired(&self) -> bool {
        self.observed.as_ref().is_none_or(|o| {
            let duration = o
                .record
                .lease_duration_seconds
                .and_then(|s| u64::try_from(s).ok())
                .map_or(self.lease_duration, Duration::from_secs);
            o.since.elapsed() >= duration
        })
    }

    /// How long the holder keeps streaming without a successful renewal.
    fn renew_deadline(&self) -> Duration {
        self.lease_duration.saturating_sub(self.renew_interval)
    }

    /// Elects until `stop`, publishing the role; then releases the Lease if held.
    async fn run(mut self, role: watch::Sender<Role>, mut stop: oneshot::Receiver<()>) {
        // When the last successful renewal was *sent*: the Lease runs from then at the
        // latest, so the holder's deadline ends before any standby's.
        let mut renewed: Option<Instant> = None;
        loop {
            let started = Instant::now();
            let attempt = tokio::time::timeout(self.renew_interval, self.try_acquire_or_renew());
            let next = match attempt.await {
                Ok(Ok(true)) => {
                    renewed = Some(started);
                    Role::Leader
                }
                Ok(Ok(false)) => {
                    renewed = None;
                    Role::Standby
                }
                Ok(Err(error)) => self.failed(&mut renewed, error.to_string()),
                Err(_) => self.failed(&mut renewed, "the Kubernetes API did not answer".into()),
            };
            role.send_if_modified(|current| {
                if *current == next {
                    return false;
                }
                tracing::info!(lease = %self.name, role = ?next, "leader election");
                *current = next;
                true
            });
            tokio::select! {
                _ = tokio::time::sleep_until(started + self.renew_interval) => {}
                _ = &mut stop => break,
            }
        }
        // Also after stepping down: the Lease may still name us.
        match tokio::time::timeout(self.renew_interval, self.release()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(%error, lease = %self.name, "cannot release the Lease; it expires");
            }
            Err(_) => {
                tracing::warn!(lease = %self.name, "no answer releasing the Lease; it expires")
            }
        }
    }

    /// The role after a failed round: still the leader until the renew deadline.
    fn failed(&self, renewed: &mut Option<Instant>, reason: String) -> Role {
        match *renewed {
            Some(at) if at.elapsed() < self.renew_deadline() => {
                tracing::warn!(lease = %self.name, %reason, "cannot renew the Lease yet");
                Role::Leader
            }
            _ => {
                if renewed.take().is_some() {
                    tracing::error!(lease = %self.name, %reason, "could not renew the Lease: stepping down");
                } else {
                    tracing::warn!(lease = %self.name, %reason, "cannot read the Lease");
                }
                Role::Unknown(reason)
            }
        }
    }
}

#[cfg(test)]
mod tests;
