//! Runtime code against real parts: a real PostgreSQL, a real HTTP server.

mod database;
mod http;
