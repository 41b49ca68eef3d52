//! consumer-service built in the test process (port 0), against real PostgreSQL, a real broker and its
//! real CDC relay: the API, the command handler, idempotence and dead letters.

mod api;
mod commands;
mod grpc;
mod support;
