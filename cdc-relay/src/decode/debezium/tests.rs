use bytes::Bytes;

use super::*;

const UUID_OID: u32 = 2950;
const VARCHAR_OID: u32 = 1043;
const JSONB_OID: u32 = 3802;
const BYTEA_OID: u32 = 17;
const TEXT_OID: u32 = 25;

/// Debezium's example table: `id uuid, aggregatetype, aggregateid, type varchar,
/// payload jsonb, tracingspancontext varchar`.
fn relation(payload_type: u32) -> Relation {
    Relation {
        schema: "public".into(),
        table: "outboxevent".into(),
        columns: [
            "id",
            "aggregatetype",
            "aggregateid",
            "type",
            "payload",
            "tracingspancontext",
        ]
        .map(String::from)
        .to_vec(),
        column_types: vec![
            UUID_OID,
            VARCHAR_OID,
            VARCHAR_OID,
            VARCHAR_OID,
            payload_type,
            VARCHAR_OID,
        ],
    }
}

fn text(s: &str) -> Value {
    Value::Text(Bytes::copy_from_slice(s.as_bytes()))
}

const ID: &str = "4d47e190-0402-4048-bc2c-89dd54343cdc";

fn row(aggregate_type: Option<&str>, payload: &str, tracing: Option<&str>) -> Vec<Value> {
    vec![
        text(ID),
        aggregate_type.map_or(Value::Null, text),
        text("1"),
        text("OrderCreated"),
        text(payload),
        tracing.map_or(Value::Null, text),
    ]
}

fn router(configure: impl FnOnce(&mut DebeziumSettings)) -> EventRouter {
    let mut settings = DebeziumSettings::default();
    configure(&mut settings);
    EventRouter::new(&settings).unwrap()
}

/// The headers as text; `"<null>"` for a null value.
fn headers(record: &OutboxRecord) -> Vec<(&str, &str)> {
    record
        .headers
        .iter()
        .map(|(n, v)| {
            let value = v
                .as_deref()
                .map_or("<null>", |v| std::str::from_utf8(v).unwrap());
            (n.as_str(), value)
        })
        .collect()
}

#[test]
fn defaults_route_like_debeziums_router() {
    let payload = r#"{"id": 1, "customerId": 123}"#;
    let record = router(|_| {})
        .to_record(&relation(JSONB_OID), &row(Some("Order"), payload, None), 7)
        .unwrap();
    assert_eq!(
        record,
        OutboxRecord {
            topic: "outbox.event.Order".into(),
            key: Some("1".into()),
            headers: vec![("id".into(), Some(ID.as_bytes().to_vec()))],
            payload: Some(payload.as_bytes().to_vec()),
            timestamp_millis: 7,
        }
    );
}

#[test]
fn additional_placement_and_tracing_context_become_headers() {
    let configured =
        router(|s| s.table_fields_additional_placement = "type:header:eventType".into());
    let tracing = "#Mon Nov 23 12:00:00 UTC 2026\ntraceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\ntracestate : a\\=1\n";
    let record = configured
        .to_record(
            &relation(JSONB_OID),
            &row(Some("Order"), "{}", Some(tracing)),
            0,
        )
        .unwrap();
    assert_eq!(
        headers(&record),
        vec![
            (
                "traceparent",
                "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            ),
            ("tracestate", "a=1"),
            ("id", ID),
            ("eventType", "OrderCreated"),
        ]
    );
    let unaliased = router(|s| s.table_fields_additional_placement = "type:header".into())
        .to_record(&relation(JSONB_OID), &row(Some("Order"), "{}", None), 0)
        .unwrap();
    assert_eq!(
        headers(&unaliased),
        vec![("id", ID), ("type", "OrderCreated")]
    );
}

#[test]
fn replacement_patterns_follow_java_syntax() {
    let custom = router(|s| s.route_topic_replacement = "${routedByValue}.events".into());
    assert_eq!(custom.topic("Customer"), "Customer.events");

    let numbered = router(|s| {
        s.route_topic_regex = "(.*)Aggregate".into();
        s.route_topic_replacement = "events.$1.v\\$1".into();
    });
    assert_eq!(numbered.topic("OrderAggregate"), "events.Order.v$1");
    // RegexRouter leaves values the regex does not match wholly as they are.
    assert_eq!(numbered.topic("Aggregates"), "Aggregates");
}

#[test]
fn a_bytea_payload_is_published_as_its_bytes() {
    let record = router(|_| {})
        .to_record(
            &relation(BYTEA_OID),
            &row(Some("Order"), "\\x0001ff", None),
            0,
        )
        .unwrap();
    assert_eq!(record.payload, Some(vec![0, 1, 0xff]));
}

#[test]
fn rows_debezium_could_not_route_become_dead_letters_with_a_reason() {
    let configured =
        router(|s| s.table_fields_additional_placement = "type:header:eventType".into());
    let no_route = configured
        .to_record(&relation(JSONB_OID), &row(None, "{}", None), 0)
        .unwrap_err();
    assert_eq!(no_route.reason, "column aggregatetype is NULL");
    assert_eq!(no_route.key.as_deref(), Some("1"));
    assert_eq!(no_route.original_topic, None);
    let original: serde_json::Value = serde_json::from_slice(&no_route.payload).unwrap();
    assert_eq!(original["id"], ID);

    let missing = router(|s| s.table_fields_additional_placement = "region:header".into())
        .to_record(&relation(JSONB_OID), &row(Some("Order"), "{}", None), 0)
        .unwrap_err();
    assert_eq!(missing.reason, "table has no column region");
    // Debezium 3.6's name and the one before it both say to skip it.
    for configure in [
        (|s: &mut DebeziumSettings| {
            s.table_field_additional_missing = Some(AdditionalFieldMissing::Ignore)
        }) as fn(&mut DebeziumSettings),
        |s| s.table_fields_additional_error_on_missing = Some(false),
    ] {
        let skipped = router(|s| {
            s.table_fields_additional_placement = "region:header".into();
            configure(s);
        })
        .to_record(&relation(JSONB_OID), &row(Some("Order"), "{}", None), 0)
        .unwrap();
        assert_eq!(headers(&skipped), vec![("id", ID)]);
    }
}

#[test]
fn a_null_payload_is_a_tombstone_with_or_without_the_option() {
    // The router hands a NULL payload on as the value either way (without envelope
    // placements), and StringConverter writes a null as a null.
    let mut values = row(Some("Order"), "{}", None);
    values[4] = Value::Null;
    for tombstones in [false, true] {
        let record = router(|s| s.route_tombstone_on_empty_payload = tombstones)
            .to_record(&relation(JSONB_OID), &values, 0)
            .unwrap();
        assert_eq!(record.payload, None, "tombstones: {tombstones}");
        assert_eq!(record.topic, "outbox.event.Order");
        assert_eq!(record.key.as_deref(), Some("1"));
        assert_eq!(headers(&record), vec![("id", ID)]);
    }
    let bytea = router(|_| {})
        .to_record(&relation(BYTEA_OID), &values, 0)
        .unwrap();
    assert_eq!(bytea.payload, None);
}

#[test]
fn a_blank_text_payload_is_a_tombstone_only_with_the_option() {
    let blank = |payload: &str, tombstones: bool, payload_type: u32| {
        router(|s| s.route_tombstone_on_empty_payload = tombstones)
            .to_record(
                &relation(payload_type),
                &row(Some("Order"), payload, None),
                0,
            )
            .unwrap()
            .payload
    };
    // Java's trim() strips every character up to U+0020, control characters included.
    for text in ["", "   ", "\t\n \u{1}"] {
        assert_eq!(blank(text, true, TEXT_OID), None, "{text:?}");
        assert_eq!(
            blank(text, false, TEXT_OID),
            Some(text.as_bytes().to_vec()),
            "{text:?}"
        );
    }
    // Not blank to Java: a no-break space, a JSON empty string.
    assert_eq!(
        blank("\u{a0}", true, TEXT_OID),
        Some("\u{a0}".as_bytes().to_vec())
    );
    assert_eq!(blank("\"\"", true, JSONB_OID), Some(b"\"\"".to_vec()));
    // An empty bytea prints as `\x`: its bytes are empty, but the router's test is on the
    // array object, which is never blank.
    assert_eq!(blank("\\x", true, BYTEA_OID), Some(Vec::new()));
}

#[test]
fn nulls_in_key_id_and_placed_columns_stay_nulls() {
    let mut values = row(Some("Order"), "{}", None);
    values[0] = Value::Null;
    values[2] = Value::Null;
    values[3] = Value::Null;
    let record = router(|s| s.table_fields_additional_placement = "type:header:eventType".into())
        .to_record(&relation(JSONB_OID), &values, 0)
        .unwrap();
    assert_eq!(record.key, None);
    assert_eq!(
        headers(&record),
        vec![("id", "<null>"), ("eventType", "<null>")]
    );
}

#[test]
fn placed_booleans_are_written_as_connect_writes_them() {
    let mut relation = relation(JSONB_OID);
    relation.columns.push("urgent".into());
    relation.column_types.push(BOOL_OID);
    let configured = router(|s| s.table_fields_additional_placement = "urgent:header".into());
    for (text, header) in [("t", "true"), ("f", "false")] {
        let mut values = row(Some("Order"), "{}", None);
        values.push(self::text(text));
        let record = configured.to_record(&relation, &values, 0).unwrap();
        assert_eq!(headers(&record), vec![("id", ID), ("urgent", header)]);
    }
}

#[test]
fn options_the_relay_cannot_honour_are_refused_at_start_naming_the_key() {
    let error = |configure: fn(&mut DebeziumSettings)| {
        let mut settings = DebeziumSettings::default();
        configure(&mut settings);
        EventRouter::new(&settings).unwrap_err().to_string()
    };
    assert!(
        error(|s| s.table_fields_additional_placement = "type:envelope:eventType".into())
            .contains("debezium.table_fields_additional_placement")
    );
    assert!(error(|s| s.route_topic_regex = "(".into()).contains("debezium.route_topic_regex"));
    assert!(
        error(|s| s.route_topic_replacement = "outbox.${nosuch}".into())
            .contains("debezium.route_topic_replacement")
    );
    assert!(error(|s| s.route_topic_replacement = "a.$2".into()).contains("no group 2"));
    assert!(
        error(|s| s.table_expand_json_payload = true)
            .contains("debezium.table_expand_json_payload")
    );
    assert!(
        error(|s| {
            s.table_field_additional_missing = Some(AdditionalFieldMissing::Ignore);
            s.table_fields_additional_error_on_missing = Some(true);
        })
        .contains("debezium.table_field_additional_missing")
    );
}

proptest::proptest! {
    /// Any text in any column yields a record or a dead letter, never a panic.
    #[test]
    fn arbitrary_column_values_never_panic(
        values in proptest::collection::vec(proptest::option::of(".{0,40}"), 6),
        bytea in proptest::bool::ANY,
    ) {
        let values: Vec<Value> = values
            .into_iter()
            .map(|v| v.map_or(Value::Null, |t| text(&t)))
            .collect();
        let payload_type = if bytea { BYTEA_OID } else { JSONB_OID };
        let _ = router(|_| {}).to_record(&relation(payload_type), &values, 0);
    }

    /// Any trace context text parses without panicking.
    #[test]
    fn arbitrary_properties_never_panic(text in ".{0,80}") {
        let _ = java_properties(&text);
    }
}
