//! The FTGO stack of real parts on one machine.
//!
//! [`Stack::start`] brings up PostgreSQL (one database per service, `wal_level=logical`)
//! and a Kafka-protocol broker (tansu) on free loopback ports, each in a private temporary
//! directory, and stops every process when the [`Stack`] is dropped, including while a
//! test panics. `cargo dev up` and the tests use this same code, so what a user runs
//! locally is what the tests run.

mod app;
pub mod binaries;
mod broker;
mod error;
pub mod http;
pub mod kafka;
pub mod logs;
mod ports;
mod postgres;
pub mod prereqs;
mod process;
mod stack;

pub use app::{AppProcess, RelayProcess};
pub use broker::Broker;
pub use error::{Error, Result};
pub use postgres::{Postgres, ServiceDatabase};
pub use process::ManagedProcess;
pub use stack::{
    DEAD_LETTER_TOPIC, SERVICE_BINARIES, SERVICES, Stack, StackAddresses, StackOptions,
};
