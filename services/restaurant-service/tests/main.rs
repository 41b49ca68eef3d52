//! restaurant-service built in the test process (port 0), against real PostgreSQL, a
//! real broker and its real CDC relay: the API and its events, the command handler,
//! idempotence, dead letters and corrupt stored data.

mod api;
mod commands;
mod corrupt;
mod events;
mod support;
