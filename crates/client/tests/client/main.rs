//! The resilient client against a real HTTP server whose behaviour each test switches at
//! run time, and which counts the requests it actually received.

mod answers;
mod breaker;
mod limits;
mod support;
