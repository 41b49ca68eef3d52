//! restaurant-service built in the test process (port 0), against real PostgreSQL, a real broker and its
//! real CDC relay: the API and its events, the command handler, idempotence and dead
//! letters.

mod api;
mod commands;
mod events;
mod support;
