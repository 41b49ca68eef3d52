//! The FTGO system end to end: every part a real process, every call real HTTP or Kafka.

mod api;
mod availability;
mod consumer_groups;
mod fault_suite;
mod fuzz_api;
mod graceful_stop;
mod grpc;
mod kubernetes;
mod messaging;
mod observability;
mod order_flow;
mod partitions;
mod protobuf;
mod resilience;
mod secrets;
mod stop_without_broker;
mod supervision;
mod support;
mod walkthrough;
