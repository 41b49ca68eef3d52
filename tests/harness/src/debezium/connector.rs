//! The connector's properties: Debezium's PostgreSQL connector with the Outbox Event
//! Router as a transform.

use std::path::Path;

use super::{CONNECTOR_CLASS, EVENT_ROUTER_CLASS};
use crate::postgres::ServiceDatabase;

/// One Debezium PostgreSQL connector routing an outbox table with the EventRouter.
///
/// Properties are Debezium's own names; [`OutboxConnector::new`] fills in what every
/// outbox connector of the harness shares, and the fields say what differs per use.
#[derive(Debug, Clone)]
pub struct OutboxConnector {
    /// The connector's name (REST API, logs, metrics) and its `topic.prefix`.
    pub name: String,
    /// The outbox table, `schema.table` (`table.include.list`).
    pub table: String,
    /// `slot.name`: a slot of its own, so that it never competes with a relay's.
    pub slot: String,
    /// `publication.name`.
    pub publication: String,
    /// `publication.autocreate.mode`: `filtered` (Debezium creates or alters it to list
    /// exactly the table) or `disabled` (it must exist).
    pub publication_autocreate: String,
    /// `snapshot.mode`: Debezium's default `initial` reads the table's rows first; a
    /// caller streaming a backlog that waits in a slot created before it uses `no_data`.
    pub snapshot_mode: String,
    /// The router's options without the `transforms.outbox.` prefix, e.g.
    /// `("route.topic.replacement", "outbox.${routedByValue}")`.
    pub router: Vec<(String, String)>,
    /// Further connector properties (they override the ones above).
    pub extra: Vec<(String, String)>,
}

impl OutboxConnector {
    /// A connector `name` for `table` with its own slot and publication (both named
    /// `name`), Debezium's default snapshot mode and the router's defaults.
    pub fn new(name: &str, table: &str) -> Self {
        Self {
            name: name.to_owned(),
            table: table.to_owned(),
            slot: name.to_owned(),
            publication: name.to_owned(),
            publication_autocreate: "filtered".to_owned(),
            snapshot_mode: "initial".to_owned(),
            router: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// The connector properties, with the password read from `secret` (a properties
    /// file with a `password` key) through Connect's `file` config provider.
    pub(super) fn properties(&self, db: &ServiceDatabase, secret: &Path) -> Vec<(String, String)> {
        let mut properties: Vec<(String, String)> = [
            ("name", self.name.clone()),
            ("connector.class", CONNECTOR_CLASS.to_owned()),
            ("tasks.max", "1".to_owned()),
            ("plugin.name", "pgoutput".to_owned()),
            ("database.hostname", db.host.clone()),
            ("database.port", db.port.to_string()),
            ("database.user", db.user.clone()),
            (
                "database.password",
                format!("${{file:{}:password}}", secret.display()),
            ),
            ("database.dbname", db.name.clone()),
            ("topic.prefix", self.name.clone()),
            ("slot.name", self.slot.clone()),
            ("publication.name", self.publication.clone()),
            (
                "publication.autocreate.mode",
                self.publication_autocreate.clone(),
            ),
            ("table.include.list", self.table.clone()),
            ("snapshot.mode", self.snapshot_mode.clone()),
            ("tombstones.on.delete", "false".to_owned()),
            ("transforms", "outbox".to_owned()),
            ("transforms.outbox.type", EVENT_ROUTER_CLASS.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        properties.extend(
            self.router
                .iter()
                .map(|(k, v)| (format!("transforms.outbox.{k}"), v.clone())),
        );
        for (key, value) in &self.extra {
            properties.retain(|(k, _)| k != key);
            properties.push((key.clone(), value.clone()));
        }
        properties
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_properties_pass_the_router_options_and_let_extras_override() {
        let db = ServiceDatabase {
            name: "order_service".into(),
            host: "127.0.0.1".into(),
            port: 5432,
            user: "order_service".into(),
            password: "secret".into(),
        };
        let mut connector = OutboxConnector::new("outbox", "public.outboxevent");
        connector.router.push((
            "route.topic.replacement".into(),
            "bench.${routedByValue}".into(),
        ));
        connector
            .extra
            .push(("snapshot.mode".into(), "no_data".into()));
        let properties = connector.properties(&db, Path::new("/s/db.properties"));
        let get = |key: &str| {
            properties
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            get("transforms.outbox.route.topic.replacement"),
            ["bench.${routedByValue}"]
        );
        assert_eq!(get("snapshot.mode"), ["no_data"]);
        assert_eq!(
            get("database.password"),
            ["${file:/s/db.properties:password}"]
        );
        assert!(!properties.iter().any(|(_, v)| v.contains("secret")));
    }
}
