//! The FTGO stack of real parts on one machine.
//!
//! [`Stack::start`] brings up PostgreSQL (one database per service, `wal_level=logical`)
//! and Apache Kafka (one KRaft broker) — with `StackOptions`, also the relays, the
//! services and a Prometheus scraping them — on free loopback ports, each in a private temporary
//! directory, and stops every process when the [`Stack`] is dropped, including while a
//! test panics. `cargo dev up` and the tests use this same code, so what a user runs
//! locally is what the tests run. [`kube::ApiServer`] is a real Kubernetes API server for
//! the tests of the chart and of the relays' leader election.

mod app;
pub mod binaries;
mod broker;
pub mod chromium;
pub mod debezium;
mod error;
pub mod http;
pub mod kafka;
pub mod kube;
pub mod load;
pub mod logs;
pub mod measure;
pub mod monitoring;
pub mod pgbench;
mod ports;
mod postgres;
pub mod prereqs;
mod process;
mod progress;
mod prometheus;
mod stack;
pub mod supervise;

pub use app::{AppProcess, RelayProcess};
pub use broker::{Broker, SHARED_BROKER_ENV};
pub use error::{Error, Result};
pub use postgres::{Postgres, ServiceDatabase};
pub use process::ManagedProcess;
pub use progress::Progress;
pub use prometheus::{Prometheus, ScrapeTarget};
pub use stack::{
    DEAD_LETTER_TOPIC, GROUP_INSTANCE_ID, KafkaTarget, SERVICE_BINARIES, SERVICES, Stack,
    StackAddresses, StackOptions,
};
