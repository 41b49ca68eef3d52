//! An outbox row, as pgoutput sends it, to a record for the broker.

use outbox::headers;
use outbox::schema::columns;

use super::pgoutput::{Relation, Value};
use super::row::Row;
use crate::sink::{DeadLetter, OutboxRecord};

/// Builds the record for an inserted outbox row, or says why it cannot be published
/// (the row then goes to the dead-letter topic as it was).
pub fn to_record(
    relation: &Relation,
    values: &[Value],
    commit_time_millis: i64,
) -> Result<OutboxRecord, DeadLetter> {
    let row = Row { relation, values };
    let fail = |reason: String| DeadLetter {
        key: row.text(columns::MESSAGE_KEY).ok().map(str::to_owned),
        headers: Vec::new(),
        payload: row.to_json(),
        original_topic: row.text(columns::DESTINATION).ok().map(str::to_owned),
        reason,
    };
    let id = row.text(columns::ID).map_err(fail)?;
    let topic = row.text(columns::DESTINATION).map_err(fail)?;
    let key = row.text(columns::MESSAGE_KEY).map_err(fail)?;
    let message_type = row.text(columns::MESSAGE_TYPE).map_err(fail)?;
    let schema_version = row.text(columns::SCHEMA_VERSION).map_err(fail)?;
    let header_json = row.text(columns::HEADERS).map_err(fail)?;

    if topic.is_empty() {
        return Err(fail("column destination is empty".into()));
    }
    let payload = row.bytea(columns::PAYLOAD).map_err(fail)?;
    let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(header_json)
        .map_err(|e| fail(format!("column headers is not a JSON object: {e}")))?;

    let mut record_headers = Vec::with_capacity(extra.len() + 3);
    record_headers.push((headers::MESSAGE_ID.to_owned(), Some(id.as_bytes().to_vec())));
    record_headers.push((
        headers::MESSAGE_TYPE.to_owned(),
        Some(message_type.as_bytes().to_vec()),
    ));
    record_headers.push((
        headers::SCHEMA_VERSION.to_owned(),
        Some(schema_version.as_bytes().to_vec()),
    ));
    for (name, value) in extra {
        let value = match value {
            serde_json::Value::String(s) => s.into_bytes(),
            other => other.to_string().into_bytes(),
        };
        record_headers.push((name, Some(value)));
    }
    Ok(OutboxRecord {
        topic: topic.to_owned(),
        key: Some(key.to_owned()),
        headers: record_headers,
        payload: Some(payload),
        timestamp_millis: commit_time_millis,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn relation() -> Relation {
        Relation {
            schema: "public".into(),
            table: "outbox".into(),
            columns: [
                "sequence",
                "id",
                "destination",
                "message_key",
                "message_type",
                "schema_version",
                "headers",
                "payload",
                "created_at",
            ]
            .map(String::from)
            .to_vec(),
            column_types: vec![20, 2950, 25, 25, 25, 23, 3802, 17, 1184],
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn row(headers: &str, payload: &str) -> Vec<Value> {
        vec![
            text("1"),
            text("0190f0c4-0000-7000-8000-000000000001"),
            text("order.events"),
            text("order-1"),
            text("OrderCreated"),
            text("1"),
            text(headers),
            text(payload),
            text("2026-11-23 12:00:00+00"),
        ]
    }

    #[test]
    fn maps_columns_to_topic_key_headers_and_payload() {
        let r = to_record(
            &relation(),
            &row(r#"{"traceparent": "00-abc-def-01"}"#, "\\x7b7d"),
            42,
        )
        .unwrap();
        assert_eq!(r.topic, "order.events");
        assert_eq!(r.key.as_deref(), Some("order-1"));
        assert_eq!(r.payload.as_deref(), Some(&b"{}"[..]));
        assert_eq!(r.timestamp_millis, 42);
        let header = |name: &str| {
            r.headers
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.clone())
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(
            header("message-id").as_deref(),
            Some("0190f0c4-0000-7000-8000-000000000001")
        );
        assert_eq!(header("message-type").as_deref(), Some("OrderCreated"));
        assert_eq!(header("schema-version").as_deref(), Some("1"));
        assert_eq!(header("traceparent").as_deref(), Some("00-abc-def-01"));
    }

    proptest::proptest! {
        /// Any text in any column yields a record or a dead letter, never a panic.
        #[test]
        fn arbitrary_column_values_never_panic(
            values in proptest::collection::vec(proptest::option::of(".{0,40}"), 9),
        ) {
            let values: Vec<Value> = values
                .into_iter()
                .map(|v| v.map_or(Value::Null, |t| text(&t)))
                .collect();
            let _ = to_record(&relation(), &values, 0);
        }
    }

    #[test]
    fn undecodable_rows_become_dead_letters_with_a_reason() {
        let bad_headers = to_record(&relation(), &row("[1]", "\\x00"), 0).unwrap_err();
        assert!(
            bad_headers.reason.contains("headers"),
            "{}",
            bad_headers.reason
        );
        assert_eq!(bad_headers.key.as_deref(), Some("order-1"));

        let bad_payload = to_record(&relation(), &row("{}", "zz"), 0).unwrap_err();
        assert!(
            bad_payload.reason.contains("payload"),
            "{}",
            bad_payload.reason
        );
        let original: serde_json::Value = serde_json::from_slice(&bad_payload.payload).unwrap();
        assert_eq!(original["payload"], "zz");

        let mut values = row("{}", "\\x00");
        values[2] = Value::Null;
        let null_destination = to_record(&relation(), &values, 0).unwrap_err();
        assert!(null_destination.reason.contains("destination is NULL"));
    }
}
