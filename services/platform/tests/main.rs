//! Platform code against real parts: a real PostgreSQL, a real HTTP server.

mod client;
mod database;
mod grpc_client;
mod http;
