//! The platform every FTGO process stands on.
//!
//! Services and the CDC relay share one way to read configuration ([`config`]), to log and
//! expose metrics ([`telemetry`], [`metrics`]), to serve HTTP with health probes and graceful
//! shutdown ([`http`]) and to reach their database ([`db`]). Keeping these here means a
//! guarantee such as "secrets never reach a log line" is enforced in one place.

pub mod client;
pub mod config;
pub mod contracts;
pub mod db;
pub mod error;
pub mod http;
pub mod messaging;
pub mod metrics;
pub mod outbox;
pub mod proto;
pub mod service;
pub mod telemetry;

pub use error::{Error, Result};
