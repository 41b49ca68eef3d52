//! Messaging conventions shared by publishers (through the outbox and relay) and
//! consumers.

pub mod headers;
