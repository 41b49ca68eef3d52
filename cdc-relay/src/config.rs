//! The relay's settings: `FTGO_*` environment variables over an optional YAML file.

use outbox::OutboxMode;
use runtime::config::{DatabaseSettings, HttpSettings, KafkaSettings};
use serde::Deserialize;

use crate::Result;

/// Everything the relay reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySettings {
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[serde(default)]
    pub http: HttpSettings,
    /// The service database whose outbox is relayed. The role needs `REPLICATION` and
    /// must own the outbox table (to create the publication).
    pub database: DatabaseSettings,
    /// The Kafka cluster.
    pub kafka: KafkaSettings,
    /// How the outbox is read: `log_tailing` (the WAL, needs `wal_level=logical`) or
    /// `polling` (the table itself; the services must write in the same mode).
    #[serde(default)]
    pub mode: OutboxMode,
    /// Polling publisher tuning (used in `polling` mode).
    #[serde(default)]
    pub polling: PollingOptions,
    /// Replication and delivery tuning.
    #[serde(default)]
    pub relay: RelayOptions,
    /// The layout of the outbox table `relay.table`: this project's (default) or the one
    /// Debezium's Outbox Event Router reads.
    #[serde(default)]
    pub layout: Layout,
    /// How a Debezium-layout row becomes a record (`layout: debezium` only).
    #[serde(default)]
    pub debezium: DebeziumSettings,
    /// Which replica streams, when several run (Kubernetes): off by default, so a single
    /// relay (the local stack) runs without any Kubernetes API.
    #[serde(default)]
    pub leader_election: LeaderElectionSettings,
}

/// Which columns an outbox row has and how they map to a record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// This project's outbox (`outbox::schema`): the row names its topic, key
    /// and headers.
    #[default]
    Ftgo,
    /// Debezium's outbox (`id`, `aggregatetype`, `aggregateid`, `type`, `payload`, ...),
    /// routed as its Outbox Event Router does (see [`crate::decode::debezium`]).
    Debezium,
}

/// The Outbox Event Router's options this relay implements, under the SMT's names with
/// `.` written as `_` (`route.topic.replacement` is `route_topic_replacement`). The
/// defaults are Debezium's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DebeziumSettings {
    /// `table.field.event.id`: the column published as the `id` header.
    pub table_field_event_id: String,
    /// `table.field.event.key`: the column that is the record key.
    pub table_field_event_key: String,
    /// `table.field.event.payload`: the column that is the record value, as is.
    pub table_field_event_payload: String,
    /// `route.by.field`: the column whose value names the topic.
    pub route_by_field: String,
    /// `route.topic.regex`: matched against the whole `route.by.field` value.
    pub route_topic_regex: String,
    /// `route.topic.replacement`: the topic, with `${group}` / `$n` from the regex.
    pub route_topic_replacement: String,
    /// `table.fields.additional.placement`: `column:header[:alias]`, comma-separated
    /// (`envelope` and `partition` placements are refused at start).
    pub table_fields_additional_placement: String,
    /// `table.field.additional.missing` (Debezium 3.6's name): what a placed column
    /// missing from the table does: `error` (default; the row is dead-lettered where
    /// Debezium fails the connector) or `ignore` (no header).
    pub table_field_additional_missing: Option<AdditionalFieldMissing>,
    /// `table.fields.additional.error.on.missing`: the same choice under the name
    /// Debezium 2.5 to 3.5 read (`false` = `ignore`), so that their configurations keep
    /// working. Debezium 3.6 no longer reads it; set together with
    /// `table_field_additional_missing`, the two must agree.
    pub table_fields_additional_error_on_missing: Option<bool>,
    /// `tracing.span.context.field`: optional column holding a `java.util.Properties`
    /// text of the writer's trace context, published as headers.
    pub tracing_span_context_field: String,
    /// `route.tombstone.on.empty.payload`: a blank text payload (empty, or only
    /// characters up to U+0020, as Java's `String.trim` removes) is published as a
    /// tombstone (a null value) instead of as its text, for compacted topics and sinks
    /// that delete on a tombstone. A NULL payload is a null value whatever this says:
    /// that is what the router hands `StringConverter` either way.
    pub route_tombstone_on_empty_payload: bool,
    /// `table.expand.json.payload`: refused at start when `true`. Debezium then turns
    /// the payload into a Connect `Struct` with an inferred schema, whose bytes are the
    /// converter's (`JsonConverter`, Avro) rendering of it; the relay publishes the
    /// payload column's own text and emulates no converter but `StringConverter`.
    pub table_expand_json_payload: bool,
}

/// `table.field.additional.missing`: Debezium's choice for a placed column the table
/// does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdditionalFieldMissing {
    /// Debezium fails the connector; the relay dead-letters the row with the reason.
    Error,
    /// The header is left out.
    Ignore,
}

impl Default for DebeziumSettings {
    fn default() -> Self {
        Self {
            table_field_event_id: "id".into(),
            table_field_event_key: "aggregateid".into(),
            table_field_event_payload: "payload".into(),
            route_by_field: "aggregatetype".into(),
            route_topic_regex: "(?<routedByValue>.*)".into(),
            route_topic_replacement: "outbox.event.${routedByValue}".into(),
            table_fields_additional_placement: String::new(),
            table_field_additional_missing: None,
            table_fields_additional_error_on_missing: None,
            tracing_span_context_field: "tracingspancontext".into(),
            route_tombstone_on_empty_payload: false,
            table_expand_json_payload: false,
        }
    }
}

/// Leader election through a `coordination.k8s.io` Lease (see [`crate::leader`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaderElectionSettings {
    /// Stream only while holding the Lease. Needs the Kubernetes API (in-cluster
    /// service account, or a kubeconfig) and RBAC on leases.
    pub enabled: bool,
    /// Name of the Lease shared by the replicas of one database's relay.
    pub lease_name: String,
    /// Namespace of the Lease; empty = the namespace of the client's configuration (in
    /// a pod: its own).
    pub namespace: String,
    /// This replica's name in the Lease (`holderIdentity`): the pod name, from the
    /// downward API. Required when enabled.
    pub holder_identity: String,
    /// How long a Lease nobody renews stays another replica's, in ms (written as whole
    /// seconds, rounded up).
    pub lease_duration_ms: u64,
    /// How often the holder renews and a standby checks, in ms. The holder steps down
    /// once it could not renew for `lease_duration_ms - renew_interval_ms`, so at most
    /// half the lease duration.
    pub renew_interval_ms: u64,
}

impl Default for LeaderElectionSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            lease_name: "cdc-relay".into(),
            namespace: String::new(),
            holder_identity: String::new(),
            lease_duration_ms: 15_000,
            renew_interval_ms: 5_000,
        }
    }
}

impl LeaderElectionSettings {
    /// Checks what serde cannot: the identity is set and the timings leave the holder
    /// time to renew. Errors name the key.
    pub fn validate(&self) -> Result<()> {
        let invalid = |key: &str, reason: &str| {
            Err(runtime::Error::ConfigKey {
                key: format!("leader_election.{key}"),
                reason: reason.into(),
            }
            .into())
        };
        if !self.enabled {
            return Ok(());
        }
        if self.holder_identity.trim().is_empty() {
            return invalid(
                "holder_identity",
                "missing (the pod name; required when leader_election.enabled)",
            );
        }
        if self.lease_name.trim().is_empty() {
            return invalid("lease_name", "must not be empty");
        }
        if self.lease_duration_ms < 1_000 {
            return invalid("lease_duration_ms", "must be at least 1000");
        }
        if self.renew_interval_ms == 0 || self.renew_interval_ms * 2 > self.lease_duration_ms {
            return invalid(
                "renew_interval_ms",
                "must be more than 0 and at most half of leader_election.lease_duration_ms",
            );
        }
        Ok(())
    }
}

/// Polling publisher options; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollingOptions {
    /// Pause between polls that found less than a full batch, in ms.
    pub interval_ms: u64,
    /// Most rows read, published and deleted per poll.
    pub batch_size: u32,
}

impl Default for PollingOptions {
    fn default() -> Self {
        Self {
            interval_ms: 100,
            batch_size: 1_000,
        }
    }
}

/// Replication and delivery options; every field has a default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayOptions {
    /// Logical replication slot name (created if missing); by default
    /// `ftgo_outbox_<database>`, the slot the outbox migration creates.
    pub slot: Option<String>,
    /// Publication name (created if missing, for the outbox table's inserts only).
    pub publication: String,
    /// The outbox table, `schema.table` or `table` (public schema).
    pub table: String,
    /// Topic for records the broker refuses for good, or rows that cannot be decoded.
    pub dead_letter_topic: String,
    /// How often the confirmed position is reported to PostgreSQL at most, in ms.
    pub status_interval_ms: u64,
    /// `linger.ms` of the producer: how long a record may wait for its batch to fill.
    /// 1 ms (librdkafka's default is 5): at 1,000 tx/s it took commit -> ack from p50 5.8 /
    /// p99 21.9 ms to 2.5 / 14.3 ms for 3 % of a core more relay CPU, and a backlog's drain
    /// fills its batches by size either way (docs/benchmarks.md, 2026-12-08).
    pub linger_ms: u64,
    /// Most records awaiting a broker acknowledgement; reading the WAL pauses beyond it.
    pub max_in_flight: usize,
    /// Most bytes (topic, key, headers, payload) of the records awaiting a broker
    /// acknowledgement; reading the WAL pauses beyond it. With `max_in_flight` it bounds
    /// the relay's memory whatever the payload sizes. 2 MiB: side by side over the same
    /// backlog, 4 MiB let 8,400 records in flight and the relay peak at 50.5 MiB resident
    /// (over its 48 MiB budget) for no faster a drain (2 MiB: 40.0 MiB, 1.04 times the
    /// rate; docs/benchmarks.md, 2026-12-08). A few thousand records in flight cover the
    /// broker's acknowledgement time at the WAL sender's rate.
    pub max_in_flight_bytes: usize,
    /// Longest wait between reconnection attempts, in ms.
    pub max_backoff_ms: u64,
    /// Create the replication slot again although it existed before and vanished
    /// (failover, `max_slot_wal_keep_size`, dropped by hand): an operator's decision
    /// that what the lost WAL held is given up. The skipped LSN range is logged. Set it
    /// for one start, then remove it.
    pub accept_slot_loss: bool,
}

impl Default for RelayOptions {
    fn default() -> Self {
        Self {
            slot: None,
            publication: outbox::schema::PUBLICATION.into(),
            table: "public.outbox".into(),
            dead_letter_topic: outbox::channels::DEAD_LETTER.into(),
            status_interval_ms: 1_000,
            linger_ms: 1,
            max_in_flight: 20_000,
            max_in_flight_bytes: 2 * 1024 * 1024,
            max_backoff_ms: 10_000,
            accept_slot_loss: false,
        }
    }
}

impl RelaySettings {
    /// The replication slot this relay streams from.
    pub fn slot(&self) -> String {
        self.relay
            .slot
            .clone()
            .unwrap_or_else(|| outbox::schema::slot_name(&self.database.name))
    }
}

impl RelayOptions {
    /// `(schema, table)` of the outbox table.
    pub fn table_name(&self) -> (&str, &str) {
        self.table
            .split_once('.')
            .unwrap_or(("public", &self.table))
    }
}
