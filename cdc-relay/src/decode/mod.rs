//! From pgoutput bytes to records ready for the broker.
//!
//! [`pgoutput`] parses the protocol messages the relay needs (Relation, Insert) from the
//! stream's raw `XLogData` payloads; a [`Mapper`] turns an outbox row into an
//! [`OutboxRecord`] by column name: [`outbox`] for this project's layout,
//! [`debezium`] for the layout of Debezium's Outbox Event Router.

pub mod debezium;
pub mod outbox;
pub mod pgoutput;
mod row;

use crate::config::{Layout, RelaySettings};
use crate::sink::{DeadLetter, OutboxRecord};
use pgoutput::{Relation, Value};

/// The mapping of the configured table layout.
#[derive(Debug, Clone)]
pub enum Mapper {
    /// This project's outbox.
    Ftgo,
    /// A Debezium outbox table.
    Debezium(Box<debezium::EventRouter>),
}

impl Mapper {
    /// The mapping `settings.layout` names, with its options checked.
    pub fn new(settings: &RelaySettings) -> crate::Result<Self> {
        Ok(match settings.layout {
            Layout::Ftgo => Self::Ftgo,
            Layout::Debezium => {
                Self::Debezium(Box::new(debezium::EventRouter::new(&settings.debezium)?))
            }
        })
    }

    /// The record for an inserted row, or the dead letter saying why there is none.
    pub fn to_record(
        &self,
        relation: &Relation,
        values: &[Value],
        commit_time_millis: i64,
    ) -> Result<OutboxRecord, DeadLetter> {
        match self {
            Self::Ftgo => outbox::to_record(relation, values, commit_time_millis),
            Self::Debezium(router) => router.to_record(relation, values, commit_time_millis),
        }
    }
}
