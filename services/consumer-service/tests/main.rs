//! consumer-service built in the test process (HTTP and gRPC on port 0), against real
//! PostgreSQL, a real broker and its real CDC relay: the API, the gRPC lookup, the command
//! handler, idempotence, dead letters and corrupt stored data.

mod api;
mod commands;
mod corrupt;
mod grpc;
mod support;
