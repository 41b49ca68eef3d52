//! What a run of the suite does: how many faults of each kind, in which order, under
//! how much load.

use std::fmt;
use std::time::Duration;

use ftgo_harness::{SERVICE_BINARIES, SERVICES};

/// One fault, injected while orders keep arriving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` of the CDC relay of this service database, then a restart.
    RelayKill(&'static str),
    /// `kill -9` of this instance of a service binary while it handles messages, then a
    /// restart.
    ServiceKill {
        /// `consumer-service`, `restaurant-service` or `order-service`.
        binary: &'static str,
        /// Which instance (order-service runs two).
        instance: usize,
    },
    /// SIGSTOP of the broker for this long, then SIGCONT.
    BrokerPause(Duration),
    /// `kill -9` of the broker (no controlled shutdown; what its log had not flushed to
    /// disk is gone), then a restart on the same log directory and ports.
    BrokerKill,
    /// Fast shutdown and start of PostgreSQL (every service database at once).
    PostgresRestart,
}

impl Fault {
    /// The kind, for the figures.
    pub fn kind(&self) -> String {
        match self {
            Self::RelayKill(_) => "relay kill -9".into(),
            Self::ServiceKill { binary, .. } => format!("{binary} kill -9"),
            Self::BrokerPause(d) => format!("broker pause {} s", d.as_secs()),
            Self::BrokerKill => "broker kill -9".into(),
            Self::PostgresRestart => "PostgreSQL restart".into(),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RelayKill(db) => write!(f, "kill -9 the {db} relay"),
            Self::ServiceKill { binary, instance } => {
                write!(f, "kill -9 {binary} #{instance} mid-batch")
            }
            Self::BrokerPause(d) => write!(f, "pause the broker {} s", d.as_secs()),
            Self::BrokerKill => write!(f, "kill -9 the broker"),
            Self::PostgresRestart => write!(f, "restart PostgreSQL"),
        }
    }
}

/// How many faults of each kind, and the load around them.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Name in the figures.
    pub name: &'static str,
    /// Relay kills, spread over the three relays in turn.
    pub relay_kills: usize,
    /// Kills of each consuming service (order-service alternates its two instances).
    pub kills_per_service: usize,
    /// Broker pauses.
    pub broker_pauses: usize,
    /// How long each pause lasts.
    pub pause: Duration,
    /// Broker kills (-9, then a restart on the same storage).
    pub broker_kills: usize,
    /// PostgreSQL restarts.
    pub postgres_restarts: usize,
    /// Orders placed per second.
    pub orders_per_second: f64,
    /// How long orders keep arriving after each fault before the suite waits for
    /// quiescence (the recovery happens under load).
    pub load_after_fault: Duration,
    /// Longest wait for quiescence after a fault.
    pub quiescence: Duration,
}

impl Plan {
    /// The test command's form: every kind of fault, bounded to a few minutes.
    pub const SHORT: Self = Self {
        name: "short",
        relay_kills: 2,
        kills_per_service: 1,
        broker_pauses: 1,
        pause: Duration::from_secs(5),
        broker_kills: 1,
        postgres_restarts: 1,
        orders_per_second: 10.0,
        load_after_fault: Duration::from_secs(3),
        quiescence: Duration::from_secs(300),
    };

    /// The issue's figures: 20 relay kills, 5 per service, 3 broker pauses of 30 s,
    /// 3 broker kills, 2 database restarts.
    pub const LONG: Self = Self {
        name: "long",
        relay_kills: 20,
        kills_per_service: 5,
        broker_pauses: 3,
        pause: Duration::from_secs(30),
        broker_kills: 3,
        postgres_restarts: 2,
        orders_per_second: 20.0,
        load_after_fault: Duration::from_secs(5),
        quiescence: Duration::from_secs(600),
    };

    /// Every fault in the order injected: each kind spread evenly over the run, so the
    /// system meets every kind early and between the others.
    pub fn schedule(&self) -> Vec<Fault> {
        let relays: Vec<Fault> = (0..self.relay_kills)
            .map(|i| Fault::RelayKill(SERVICES[i % SERVICES.len()]))
            .collect();
        let services: Vec<Fault> = (0..self.kills_per_service)
            .flat_map(|round| {
                SERVICE_BINARIES.map(|binary| Fault::ServiceKill {
                    binary,
                    instance: if binary == "order-service" {
                        round % 2
                    } else {
                        0
                    },
                })
            })
            .collect();
        let pauses = vec![Fault::BrokerPause(self.pause); self.broker_pauses];
        let broker_kills = vec![Fault::BrokerKill; self.broker_kills];
        let restarts = vec![Fault::PostgresRestart; self.postgres_restarts];
        let mut placed: Vec<(f64, usize, Fault)> = Vec::new();
        for (kind, faults) in [relays, services, pauses, broker_kills, restarts]
            .into_iter()
            .enumerate()
        {
            let n = faults.len() as f64;
            placed.extend(
                faults
                    .into_iter()
                    .enumerate()
                    .map(|(i, f)| ((i as f64 + 0.5) / n, kind, f)),
            );
        }
        placed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        placed.into_iter().map(|(_, _, f)| f).collect()
    }
}

#[test]
fn the_long_schedule_has_the_issues_counts_spread_over_the_run() {
    let schedule = Plan::LONG.schedule();
    let count = |p: &dyn Fn(&Fault) -> bool| schedule.iter().filter(|f| p(f)).count();
    assert_eq!(count(&|f| matches!(f, Fault::RelayKill(_))), 20);
    for binary in SERVICE_BINARIES {
        assert_eq!(
            count(&|f| matches!(f, Fault::ServiceKill { binary: b, .. } if *b == binary)),
            5
        );
    }
    assert_eq!(
        count(&|f| *f == Fault::BrokerPause(Duration::from_secs(30))),
        3
    );
    assert_eq!(count(&|f| *f == Fault::BrokerKill), 3);
    assert_eq!(count(&|f| *f == Fault::PostgresRestart), 2);
    // Spread: the first pause and the first restart come in the first half.
    let first = |p: &dyn Fn(&Fault) -> bool| schedule.iter().position(p).unwrap();
    assert!(first(&|f| matches!(f, Fault::BrokerPause(_))) < schedule.len() / 2);
    assert!(first(&|f| *f == Fault::BrokerKill) < schedule.len() / 2);
    assert!(first(&|f| *f == Fault::PostgresRestart) < schedule.len() / 2);
}
