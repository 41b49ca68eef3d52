//! A Debezium-layout outbox row to a record, as Debezium's Outbox Event Router
//! (`io.debezium.transforms.outbox.EventRouter`) routes it, so that services writing
//! such a table keep their topics, keys and headers when this relay replaces Debezium.
//!
//! The Debezium set-up matched: the PostgreSQL connector with the router and its
//! defaults, `key.converter` and `value.converter` =
//! `org.apache.kafka.connect.storage.StringConverter` (a `bytea` payload:
//! `binary.handling.mode=bytes` with `ByteArrayConverter`), and Kafka Connect's default
//! header converter (`SimpleHeaderConverter`, which writes a string as its text and a
//! null as a null). `cdc-relay/tests/debezium_differential.rs` runs that set-up next to
//! the relay and compares their records byte for byte.
//!
//! - topic: `route.topic.regex` must match the whole `route.by.field` value; the topic
//!   is then `route.topic.replacement` with its groups filled in, else the value itself
//!   (Kafka's `RegexRouter`);
//! - key: the `table.field.event.key` column's text (NULL: a null key);
//! - value: the `table.field.event.payload` column as is (`jsonb`/`json`/text: the text
//!   PostgreSQL outputs; `bytea`: its bytes); NULL is a null value (a tombstone), and
//!   so is a blank text with `route.tombstone.on.empty.payload`;
//! - headers: the trace context of `tracing.span.context.field` (if the column exists
//!   and is set), `id` = the event id, then each `table.fields.additional.placement`
//!   column placed in a header, under its alias (a NULL column: a null-valued header).
//!
//! Deletes and updates are not published (the publication carries inserts only; the
//! router skips deletes), so a service may delete its outbox rows right after inserting
//! them. Where Debezium would fail the connector (no route value, a missing column),
//! the row goes to the dead-letter topic with the reason instead.

use regex::Regex;

use super::pgoutput::{Relation, Value};
use super::row::Row;
use crate::config::{AdditionalFieldMissing, DebeziumSettings};
use crate::sink::{DeadLetter, OutboxRecord};

/// The name of the event id header the router adds.
pub const ID_HEADER: &str = "id";

/// PostgreSQL's type OID of `boolean`.
const BOOL_OID: u32 = 16;

/// The router, configured: compiled once at start, so bad options stop the relay early.
#[derive(Debug, Clone)]
pub struct EventRouter {
    event_id: String,
    event_key: String,
    payload: String,
    route_by: String,
    /// `route.topic.regex`, anchored: Java's `Matcher.matches()` needs a whole match.
    route_regex: Regex,
    /// `route.topic.replacement` in the `regex` crate's syntax.
    route_replacement: String,
    /// (column, header name) of the columns placed in headers.
    header_fields: Vec<(String, String)>,
    /// A placed column the table lacks is left out (else the row is dead-lettered).
    ignore_missing: bool,
    tracing_field: String,
    /// `route.tombstone.on.empty.payload`.
    tombstone_on_empty: bool,
}

impl EventRouter {
    /// Checks and compiles `settings`; errors name the key (`debezium.<option>`).
    pub fn new(settings: &DebeziumSettings) -> crate::Result<Self> {
        let invalid = |key: &str, reason: String| -> crate::Error {
            runtime::Error::ConfigKey {
                key: format!("debezium.{key}"),
                reason,
            }
            .into()
        };
        let route_regex =
            Regex::new(&format!("^(?:{})$", settings.route_topic_regex)).map_err(|e| {
                invalid(
                    "route_topic_regex",
                    format!("not a regular expression: {e}"),
                )
            })?;
        let route_replacement = java_replacement(&settings.route_topic_replacement, &route_regex)
            .map_err(|reason| invalid("route_topic_replacement", reason))?;
        let header_fields = parse_placement(&settings.table_fields_additional_placement)
            .map_err(|reason| invalid("table_fields_additional_placement", reason))?;
        let ignore_missing = match (
            settings.table_field_additional_missing,
            settings.table_fields_additional_error_on_missing,
        ) {
            (Some(missing), Some(error)) if (missing == AdditionalFieldMissing::Error) != error => {
                return Err(invalid(
                    "table_field_additional_missing",
                    "contradicts debezium.table_fields_additional_error_on_missing (the name \
                     Debezium used before 3.6 for the same choice): set only one"
                        .into(),
                ));
            }
            (Some(missing), _) => missing == AdditionalFieldMissing::Ignore,
            (None, Some(error)) => !error,
            (None, None) => false,
        };
        if settings.table_expand_json_payload {
            return Err(invalid(
                "table_expand_json_payload",
                "not supported, must be false: Debezium expands the payload into a Connect \
                 Struct for a schema-aware converter (JsonConverter, Avro) to render; the \
                 relay publishes the payload column's own text, as StringConverter does"
                    .into(),
            ));
        }
        for (key, column) in [
            ("table_field_event_id", &settings.table_field_event_id),
            ("table_field_event_key", &settings.table_field_event_key),
            (
                "table_field_event_payload",
                &settings.table_field_event_payload,
            ),
            ("route_by_field", &settings.route_by_field),
        ] {
            if column.trim().is_empty() {
                return Err(invalid(key, "must name a column".into()));
            }
        }
        Ok(Self {
            event_id: settings.table_field_event_id.clone(),
            event_key: settings.table_field_event_key.clone(),
            payload: settings.table_field_event_payload.clone(),
            route_by: settings.route_by_field.clone(),
            route_regex,
            route_replacement,
            header_fields,
            ignore_missing,
            tracing_field: settings.tracing_span_context_field.clone(),
            tombstone_on_empty: settings.route_tombstone_on_empty_payload,
        })
    }

    /// The topic for a `route.by.field` value.
    pub fn topic(&self, routed_by: &str) -> String {
        match self.route_regex.captures(routed_by) {
            Some(captures) => {
                let mut topic = String::new();
                captures.expand(&self.route_replacement, &mut topic);
                topic
            }
            None => routed_by.to_owned(),
        }
    }

    /// Builds the record for an inserted row, or says why it cannot be published (the
    /// row then goes to the dead-letter topic as it was).
    pub fn to_record(
        &self,
        relation: &Relation,
        values: &[Value],
        commit_time_millis: i64,
    ) -> Result<OutboxRecord, DeadLetter> {
        let row = Row { relation, values };
        let topic = row.text(&self.route_by).map(|value| self.topic(value));
        let fail = |reason: String| DeadLetter {
            key: row.text(&self.event_key).ok().map(str::to_owned),
            headers: Vec::new(),
            payload: row.to_json(),
            original_topic: topic.as_ref().ok().cloned(),
            reason,
        };
        let topic = topic.clone().map_err(fail)?;
        if topic.is_empty() {
            return Err(fail(format!(
                "column {} routes to an empty topic",
                self.route_by
            )));
        }
        // NULLs are nulls, as the router hands them to the converters: a null key, a
        // null-valued `id` header.
        let key = row.optional_text(&self.event_key).map_err(fail)?;
        let id = row.optional_text(&self.event_id).map_err(fail)?;
        let payload = self.payload(&row).map_err(fail)?;

        let mut headers = Vec::with_capacity(self.header_fields.len() + 2);
        if row.has(&self.tracing_field)
            && let Some(context) = row.optional_text(&self.tracing_field).map_err(fail)?
        {
            headers.extend(
                java_properties(context)
                    .into_iter()
                    .map(|(name, value)| (name, Some(value.into_bytes()))),
            );
        }
        headers.push((ID_HEADER.to_owned(), id.map(|id| id.as_bytes().to_vec())));
        for (column, header) in &self.header_fields {
            if !row.has(column) && self.ignore_missing {
                continue;
            }
            let value = row.optional_text(column).map_err(fail)?;
            headers.push((
                header.clone(),
                value.map(|text| header_bytes(row.type_oid(column), text)),
            ));
        }
        Ok(OutboxRecord {
            topic,
            key: key.map(str::to_owned),
            headers,
            payload,
            timestamp_millis: commit_time_millis,
        })
    }

    /// The record's value: the payload column's text or bytes; `None` (a tombstone) for
    /// NULL, and for blank text with `route.tombstone.on.empty.payload`.
    fn payload(&self, row: &Row<'_>) -> Result<Option<Vec<u8>>, String> {
        if row.is_bytea(&self.payload) {
            // The router tests `payload.toString().trim().isEmpty()`; for bytes that is
            // the array's identity, never blank, so only NULL is a tombstone.
            return row.optional_bytea(&self.payload);
        }
        Ok(row
            .optional_text(&self.payload)?
            .filter(|text| !(self.tombstone_on_empty && is_java_blank(text)))
            .map(|text| text.as_bytes().to_vec()))
    }
}

/// Whether Java's `String.trim()` leaves nothing of `text`: it strips every character up
/// to U+0020, and no byte of a longer UTF-8 character is in that range.
fn is_java_blank(text: &str) -> bool {
    text.bytes().all(|b| b <= b' ')
}

/// A placed column's header value as Connect's `SimpleHeaderConverter` writes the value
/// Debezium's connector made of it. A boolean, which PostgreSQL prints `t`/`f`, is
/// Connect's `true`/`false`; text, integer, `uuid` and `json` columns are PostgreSQL's
/// text already (the differential test places `varchar`, `int4` and `boolean`).
fn header_bytes(type_oid: Option<u32>, text: &str) -> Vec<u8> {
    match (type_oid, text) {
        (Some(BOOL_OID), "t") => b"true".to_vec(),
        (Some(BOOL_OID), "f") => b"false".to_vec(),
        _ => text.as_bytes().to_vec(),
    }
}

/// `table.fields.additional.placement`: `column:header[:alias]` pairs or trios, comma
/// separated, to (column, header name).
fn parse_placement(list: &str) -> Result<Vec<(String, String)>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
            match parts.as_slice() {
                [column, placement] | [column, placement, _]
                    if !placement.eq_ignore_ascii_case("header") =>
                {
                    Err(format!(
                        "{column}: placement {placement} is not supported (only header: the \
                         relay publishes the payload as is)"
                    ))
                }
                [column, _] if !column.is_empty() => Ok(((*column).into(), (*column).into())),
                [column, _, alias] if !column.is_empty() && !alias.is_empty() => {
                    Ok(((*column).into(), (*alias).into()))
                }
                _ => Err(format!(
                    "entry {entry:?} is not column:header or column:header:alias"
                )),
            }
        })
        .collect()
}

/// A `java.util.regex` replacement (`$1`, `${name}`, `\$` for a dollar) in the `regex`
/// crate's syntax (`${1}`, `${name}`, `$$`).
fn java_replacement(replacement: &str, regex: &Regex) -> Result<String, String> {
    let groups = regex.captures_len() - 1;
    let mut out = String::with_capacity(replacement.len() + 4);
    let mut chars = replacement.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => return Err("ends with a lone backslash".into()),
            },
            '$' => match chars.next() {
                Some('{') => {
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if !regex.capture_names().flatten().any(|n| n == name) {
                        return Err(format!("no group named {name:?} in route_topic_regex"));
                    }
                    out.push_str(&format!("${{{name}}}"));
                }
                // Java reads as many digits as still name an existing group.
                Some(d) if d.is_ascii_digit() => {
                    let mut number = d.to_digit(10).unwrap_or(0) as usize;
                    if number > groups {
                        return Err(format!("no group {number} in route_topic_regex"));
                    }
                    while let Some(next) = chars.peek().and_then(|c| c.to_digit(10)) {
                        let longer = number * 10 + next as usize;
                        if longer > groups {
                            break;
                        }
                        number = longer;
                        chars.next();
                    }
                    out.push_str(&format!("${{{number}}}"));
                }
                _ => return Err("a $ must be followed by a group number or {name}".into()),
            },
            other => out.push(other),
        }
    }
    Ok(out)
}

/// The entries of a `java.util.Properties` text (`key=value`, `key: value` or
/// `key value` lines; `#`/`!` comments), as `Properties.store` writes them.
fn java_properties(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim_start)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('!'))
        .filter_map(|line| {
            let mut key = String::new();
            let mut chars = line.chars();
            let mut escaped = false;
            let mut by_space = false;
            for c in chars.by_ref() {
                if escaped {
                    key.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '=' || c == ':' || c.is_whitespace() {
                    by_space = c.is_whitespace();
                    break;
                } else {
                    key.push(c);
                }
            }
            let mut rest = chars.as_str().trim_start();
            // After a key ended by white space, one `=` or `:` still separates.
            if by_space && let Some(after) = rest.strip_prefix(['=', ':']) {
                rest = after.trim_start();
            }
            let mut value = String::with_capacity(rest.len());
            let mut escaped = false;
            for c in rest.chars() {
                if escaped || c != '\\' {
                    value.push(c);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            (!key.is_empty()).then_some((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests;
