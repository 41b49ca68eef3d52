//! The harness's own tests: the real parts start, work, stay apart and are cleaned up.

mod broker;
mod cleanup;
mod isolation;
mod load;
mod postgres;
mod support;
