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
use ::outbox::OutboxMode;
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
        if settings.layout == Layout::Debezium && settings.mode == OutboxMode::Polling {
            return Err(runtime::Error::ConfigKey {
                key: "mode".into(),
                reason: "polling reads this project's outbox layout only (its xid and \
                         sequence columns); a Debezium-layout table needs log_tailing"
                    .into(),
            }
            .into());
        }
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use runtime::config::ConfigSource;

    use super::*;

    fn settings(env: &[(&str, &str)]) -> RelaySettings {
        let vars: HashMap<String, String> = [
            ("FTGO_DATABASE__HOST", "localhost"),
            ("FTGO_DATABASE__NAME", "order_service"),
            ("FTGO_DATABASE__USER", "order_service"),
            ("FTGO_KAFKA__BROKERS", "localhost:9092"),
        ]
        .iter()
        .chain(env)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        ConfigSource::from_env(vars).load().unwrap()
    }

    #[test]
    fn polling_a_debezium_layout_table_is_refused_naming_the_mode() {
        let error = Mapper::new(&settings(&[
            ("FTGO_MODE", "polling"),
            ("FTGO_LAYOUT", "debezium"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(error.contains("mode"), "{error}");
        assert!(Mapper::new(&settings(&[("FTGO_LAYOUT", "debezium")])).is_ok());
        assert!(Mapper::new(&settings(&[("FTGO_MODE", "polling")])).is_ok());
    }

    #[test]
    fn debezium_options_are_read_under_their_debezium_names() {
        let read = settings(&[
            ("FTGO_LAYOUT", "debezium"),
            ("FTGO_DEBEZIUM__ROUTE_TOMBSTONE_ON_EMPTY_PAYLOAD", "true"),
            ("FTGO_DEBEZIUM__TABLE_FIELD_ADDITIONAL_MISSING", "ignore"),
            (
                "FTGO_DEBEZIUM__TABLE_FIELDS_ADDITIONAL_ERROR_ON_MISSING",
                "false",
            ),
        ]);
        assert!(read.debezium.route_tombstone_on_empty_payload);
        assert_eq!(
            read.debezium.table_field_additional_missing,
            Some(crate::config::AdditionalFieldMissing::Ignore)
        );
        assert_eq!(
            read.debezium.table_fields_additional_error_on_missing,
            Some(false)
        );
        assert!(Mapper::new(&read).is_ok());

        let error = Mapper::new(&settings(&[
            ("FTGO_LAYOUT", "debezium"),
            ("FTGO_DEBEZIUM__TABLE_EXPAND_JSON_PAYLOAD", "true"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("debezium.table_expand_json_payload"),
            "{error}"
        );
    }
}
