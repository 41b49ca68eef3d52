//! order-service built in the test process (its own `build`, HTTP on port 0) against
//! real PostgreSQL and a real broker: the API, the replica and validation replies, and
//! corrupt rows.

mod api;
mod corruption;
mod support;
mod workflow;
