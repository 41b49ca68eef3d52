//! A Debezium-layout outbox table, written by plain SQL, comes out as Debezium's Outbox
//! Event Router (PostgreSQL connector, `StringConverter` for keys and values, the
//! default header converter) would publish it.

use std::collections::BTreeMap;
use std::time::Duration;

use ftgo_harness::DEAD_LETTER_TOPIC;
use ftgo_harness::Stack;
use ftgo_harness::kafka::ReceivedRecord;

use crate::support::SERVICE;

const INSERT: &str = "INSERT INTO outboxevent
    (id, aggregatetype, aggregateid, type, payload, tracingspancontext)";

const TRACEPARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// A record as the test expects it on its topic.
#[derive(Debug, PartialEq, Eq)]
struct Expected {
    key: String,
    headers: BTreeMap<String, String>,
    payload: String,
}

fn expected(id: &str, key: &str, event_type: &str, payload: &str) -> Expected {
    Expected {
        key: key.into(),
        headers: BTreeMap::from([
            ("id".into(), id.into()),
            ("eventType".into(), event_type.into()),
        ]),
        payload: payload.into(),
    }
}

/// Reads `topic` until it holds `count` records; returns them per key in offset order.
fn read_topic(stack: &Stack, topic: &str, count: usize) -> BTreeMap<String, Vec<Expected>> {
    let mut reader = stack.topic_reader(&[topic]).unwrap();
    let records = reader
        .read_until(Duration::from_secs(60), |r| r.len() >= count)
        .to_vec();
    assert_eq!(records.len(), count, "{topic}: {records:#?}");
    let mut by_key: BTreeMap<String, Vec<&ReceivedRecord>> = BTreeMap::new();
    for record in &records {
        let key = record.key.clone().expect("every record has a key");
        by_key.entry(key).or_default().push(record);
    }
    by_key
        .into_iter()
        .map(|(key, mut records)| {
            let partitions: std::collections::HashSet<i32> =
                records.iter().map(|r| r.partition).collect();
            assert_eq!(partitions.len(), 1, "{key} spread over partitions");
            records.sort_by_key(|r| r.offset);
            let records = records
                .into_iter()
                .map(|r| Expected {
                    key: key.clone(),
                    headers: r.headers.clone(),
                    payload: String::from_utf8(r.payload.clone()).unwrap(),
                })
                .collect();
            (key, records)
        })
        .collect()
}

#[tokio::test]
async fn a_debezium_outbox_table_comes_out_on_the_routers_topics_keys_and_headers() {
    let mut stack = Stack::start().await.unwrap();
    for topic in [
        "outbox.event.Order",
        "outbox.event.Customer",
        "debezium.Invoice",
    ] {
        stack.create_topic(topic, 3).await.unwrap();
    }
    let db = stack.database(SERVICE).clone();
    let client = db.connect().await.unwrap();
    client
        .batch_execute(ftgo_harness::debezium::OUTBOX_TABLE)
        .await
        .unwrap();
    client
        .batch_execute("CREATE TABLE invoice_outbox (LIKE outboxevent INCLUDING ALL)")
        .await
        .unwrap();

    // The router's defaults plus the usual `type:header:eventType`; the relay creates
    // the publication for the table and its slot.
    let placement = (
        "FTGO_DEBEZIUM__TABLE_FIELDS_ADDITIONAL_PLACEMENT",
        "type:header:eventType",
    );
    let relay = stack
        .start_relay(
            SERVICE,
            &[
                ("FTGO_LAYOUT", "debezium"),
                ("FTGO_RELAY__TABLE", "public.outboxevent"),
                ("FTGO_RELAY__PUBLICATION", "outboxevent_relay"),
                placement,
            ],
        )
        .await
        .unwrap();
    relay.wait_ready(Duration::from_secs(60)).await.unwrap();
    // A second table with its own topic pattern, relayed by a second relay.
    let custom = stack
        .start_relay(
            SERVICE,
            &[
                ("FTGO_LAYOUT", "debezium"),
                ("FTGO_RELAY__TABLE", "public.invoice_outbox"),
                ("FTGO_RELAY__PUBLICATION", "invoice_outbox_relay"),
                ("FTGO_RELAY__SLOT", "invoice_outbox_relay"),
                (
                    "FTGO_DEBEZIUM__ROUTE_TOPIC_REPLACEMENT",
                    "debezium.${routedByValue}",
                ),
                placement,
            ],
        )
        .await
        .unwrap();
    custom.wait_ready(Duration::from_secs(60)).await.unwrap();

    let mut client = db.connect().await.unwrap();
    client
        .batch_execute(&format!(
            "BEGIN;
             {INSERT} VALUES
               ('00000000-0000-4000-8000-000000000001', 'Order', '1', 'OrderCreated',
                '{{\"id\": 1, \"status\": \"ENTERED\"}}',
                '#Mon Nov 23 12:00:00 UTC 2026\ntraceparent={TRACEPARENT}\n'),
               ('00000000-0000-4000-8000-000000000002', 'Customer', 'c-7', 'CustomerCreated',
                '{{\"name\": \"Ann\"}}', NULL);
             COMMIT;
             {INSERT} VALUES
               ('00000000-0000-4000-8000-000000000003', 'Order', '2', 'OrderCreated',
                '{{\"id\": 2, \"status\": \"ENTERED\"}}', NULL);
             {INSERT} VALUES
               ('00000000-0000-4000-8000-000000000004', 'Order', '1', 'OrderLineUpdated',
                '{{\"id\": 1, \"lines\": [{{\"item\": \"Debezium in Action\", \"quantity\": 2}}]}}', NULL);"
        ))
        .await
        .unwrap();
    // As services using Debezium do: insert and delete in the same transaction, so the
    // table stays empty. The insert is still published.
    let tx = client.transaction().await.unwrap();
    tx.batch_execute(&format!(
        "{INSERT} VALUES
           ('00000000-0000-4000-8000-000000000005', 'Order', '1', 'OrderShipped',
            '{{\"id\": 1, \"status\": \"SHIPPED\"}}', NULL);
         DELETE FROM outboxevent WHERE id = '00000000-0000-4000-8000-000000000005';"
    ))
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // No aggregate type: no topic. Dead-lettered; later rows still flow.
    client
        .batch_execute(&format!(
            "{INSERT} VALUES
               ('00000000-0000-4000-8000-000000000006', NULL, 'bad-1', 'OrderCreated', '{{}}', NULL);
             {INSERT} VALUES
               ('00000000-0000-4000-8000-000000000007', 'Order', '2', 'OrderCancelled',
                '{{\"id\": 2, \"status\": \"CANCELLED\"}}', NULL);
             INSERT INTO invoice_outbox (id, aggregatetype, aggregateid, type, payload)
             VALUES ('00000000-0000-4000-8000-000000000008', 'Invoice', 'i-1', 'InvoiceIssued',
                     '{{\"total\": 39.98}}');"
        ))
        .await
        .unwrap();
    assert_eq!(
        client
            .query_one("SELECT count(*) FROM outboxevent", &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        6,
        "the shipped event was deleted by its transaction"
    );

    let mut created = expected(
        "00000000-0000-4000-8000-000000000001",
        "1",
        "OrderCreated",
        r#"{"id": 1, "status": "ENTERED"}"#,
    );
    created
        .headers
        .insert("traceparent".into(), TRACEPARENT.into());
    let orders = BTreeMap::from([
        (
            "1".to_owned(),
            vec![
                created,
                expected(
                    "00000000-0000-4000-8000-000000000004",
                    "1",
                    "OrderLineUpdated",
                    r#"{"id": 1, "lines": [{"item": "Debezium in Action", "quantity": 2}]}"#,
                ),
                expected(
                    "00000000-0000-4000-8000-000000000005",
                    "1",
                    "OrderShipped",
                    r#"{"id": 1, "status": "SHIPPED"}"#,
                ),
            ],
        ),
        (
            "2".to_owned(),
            vec![
                expected(
                    "00000000-0000-4000-8000-000000000003",
                    "2",
                    "OrderCreated",
                    r#"{"id": 2, "status": "ENTERED"}"#,
                ),
                expected(
                    "00000000-0000-4000-8000-000000000007",
                    "2",
                    "OrderCancelled",
                    r#"{"id": 2, "status": "CANCELLED"}"#,
                ),
            ],
        ),
    ]);
    assert_eq!(read_topic(&stack, "outbox.event.Order", 5), orders);
    assert_eq!(
        read_topic(&stack, "outbox.event.Customer", 1),
        BTreeMap::from([(
            "c-7".to_owned(),
            vec![expected(
                "00000000-0000-4000-8000-000000000002",
                "c-7",
                "CustomerCreated",
                r#"{"name": "Ann"}"#,
            )],
        )])
    );
    assert_eq!(
        read_topic(&stack, "debezium.Invoice", 1),
        BTreeMap::from([(
            "i-1".to_owned(),
            vec![expected(
                "00000000-0000-4000-8000-000000000008",
                "i-1",
                "InvoiceIssued",
                r#"{"total": 39.98}"#,
            )],
        )])
    );

    let mut reader = stack.topic_reader(&[DEAD_LETTER_TOPIC]).unwrap();
    let letters = reader
        .read_until(Duration::from_secs(60), |r| !r.is_empty())
        .to_vec();
    assert_eq!(letters.len(), 1, "{letters:#?}");
    let letter = &letters[0];
    assert_eq!(letter.key.as_deref(), Some("bad-1"));
    assert_eq!(
        letter.header("dead-letter-reason"),
        Some("column aggregatetype is NULL")
    );
    let row: serde_json::Value = serde_json::from_slice(&letter.payload).unwrap();
    assert_eq!(row["id"], "00000000-0000-4000-8000-000000000006");
    assert_eq!(row["aggregatetype"], serde_json::Value::Null);
    assert_eq!(
        stack
            .relay(SERVICE)
            .metric("ftgo_relay_dead_letter_messages_total")
            .await,
        Some(1.0)
    );
}
