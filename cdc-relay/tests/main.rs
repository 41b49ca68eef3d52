//! The relay against real PostgreSQL, a real broker and real relay processes.

mod dead_letter;
mod debezium;
mod debezium_differential;
mod delivery;
mod faults;
mod idle_wal;
mod leader_election;
mod lease_api;
mod lease_on_api_server;
mod migration_race;
mod polling;
mod secrets;
mod slot_loss;
mod support;
mod window;
