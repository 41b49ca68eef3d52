//! What every FTGO process runs on — the three services and the CDC relay alike.
//!
//! One way to read configuration ([`config`]: a YAML base file under `FTGO_*` environment
//! overrides, errors that name the key and never the value), to log ([`telemetry`]) and
//! expose metrics ([`metrics`]), to reach the database ([`db`]) and to serve the
//! operations endpoints with probes and a graceful stop ([`http`]). Keeping these here
//! means a guarantee such as "secrets never reach a log line" is enforced in one place.
//!
//! This crate depends on no other crate of the workspace.

pub mod config;
pub mod db;
pub mod error;
pub mod http;
pub mod metrics;
pub mod telemetry;

pub use error::{Error, Result};
