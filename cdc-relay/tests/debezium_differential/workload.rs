//! The SQL workload both sides read: one Debezium-layout table with every column the
//! option sets name, and rows that exercise what each set is for.

use tokio_postgres::Transaction;
use uuid::Uuid;

/// Debezium's example outbox table, with the columns the option sets name instead of
/// the defaults or place in headers.
pub(super) const TABLE: &str = "CREATE TABLE outboxevent (
    id uuid PRIMARY KEY,
    aggregatetype varchar(255) NOT NULL,
    aggregateid varchar(255),
    type varchar(255) NOT NULL,
    payload jsonb,
    tracingspancontext varchar(256),
    tenant varchar(64),
    attempt int4 NOT NULL,
    urgent boolean NOT NULL,
    eventid varchar(64) NOT NULL,
    stream varchar(64) NOT NULL,
    streamkey varchar(64) NOT NULL,
    body text,
    tracing text,
    blob bytea
)";

const INSERT: &str = "INSERT INTO outboxevent (id, aggregatetype, aggregateid, type, payload,
        tracingspancontext, tenant, attempt, urgent, eventid, stream, streamkey, body, tracing,
        blob)
    VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/// A trace context as a service using Debezium's tracing writes it.
const TRACE: &str = "#Mon Nov 23 12:00:00 UTC 2026\n\
     traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\n\
     tracestate=vendor=a1\n";

/// One outbox row.
#[derive(Debug, Clone)]
struct Event {
    aggregatetype: &'static str,
    aggregateid: Option<String>,
    event_type: String,
    /// `jsonb`, from this text.
    payload: Option<String>,
    tracingspancontext: Option<&'static str>,
    tenant: Option<&'static str>,
    attempt: i32,
    urgent: bool,
    stream: &'static str,
    streamkey: String,
    body: Option<String>,
    tracing: Option<&'static str>,
    blob: Option<Vec<u8>>,
}

impl Event {
    fn new(
        aggregatetype: &'static str,
        aggregateid: &str,
        event_type: &str,
        payload: &str,
    ) -> Self {
        let body = format!("{event_type} of {aggregateid}");
        Self {
            aggregatetype,
            aggregateid: Some(aggregateid.to_owned()),
            event_type: event_type.to_owned(),
            payload: Some(payload.to_owned()),
            tracingspancontext: None,
            tenant: Some("acme"),
            attempt: 1,
            urgent: false,
            stream: "Payments",
            streamkey: format!("s-{aggregateid}"),
            blob: Some(body.as_bytes().to_vec()),
            body: Some(body),
            tracing: None,
        }
    }

    fn with(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self
    }
}

/// Numbers the rows: ids `00000000-0000-4000-8000-<n>`, event ids `evt-<n>`.
#[derive(Debug, Default)]
struct Writer {
    rows: usize,
}

impl Writer {
    async fn insert(&mut self, tx: &Transaction<'_>, event: &Event) -> Uuid {
        self.rows += 1;
        let id = Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | self.rows as u128);
        let eventid = format!("evt-{}", self.rows);
        tx.execute(
            INSERT,
            &[
                &id,
                &event.aggregatetype,
                &event.aggregateid,
                &event.event_type,
                &event.payload,
                &event.tracingspancontext,
                &event.tenant,
                &event.attempt,
                &event.urgent,
                &eventid,
                &event.stream,
                &event.streamkey,
                &event.body,
                &event.tracing,
                &event.blob,
            ],
        )
        .await
        .unwrap();
        id
    }
}

/// Writes the workload; returns the number of rows inserted (each one record per option
/// set: deletes and updates publish nothing).
pub(super) async fn write_workload(client: &mut tokio_postgres::Client) -> usize {
    let mut writer = Writer::default();

    // Several aggregate types in one transaction; a trace context; numbers as written.
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new(
                "Order",
                "o-1",
                "OrderCreated",
                r#"{"id": 1, "status": "ENTERED", "total": 39.980, "big": 12345678901234567890, "exp": 1e3}"#,
            )
            .with(|e| {
                e.tracingspancontext = Some(TRACE);
                e.tracing = Some(TRACE);
            }),
        )
        .await;
    let customer = writer
        .insert(
            &tx,
            &Event::new("Customer", "c-7", "CustomerCreated", r#"{"name": "Ann"}"#).with(|e| {
                e.tenant = None;
                e.urgent = true;
                e.stream = "Shipping";
            }),
        )
        .await;
    writer
        .insert(
            &tx,
            &Event::new("Order", "o-2", "OrderCreated", r#"{"id": 2}"#).with(|e| e.attempt = 2),
        )
        .await;
    tx.commit().await.unwrap();

    // Inserted and deleted in one transaction, as services using Debezium do.
    let tx = client.transaction().await.unwrap();
    let shipped = writer
        .insert(
            &tx,
            &Event::new(
                "Order",
                "o-1",
                "OrderShipped",
                r#"{"id": 1, "status": "SHIPPED"}"#,
            ),
        )
        .await;
    tx.execute("DELETE FROM outboxevent WHERE id = $1", &[&shipped])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Unicode in key, payload and body.
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new(
                "Customer",
                "c-Zoë-🍕",
                "CustomerRenamed",
                r#"{"name": "Zoë 🍕", "city": "Kraków", "escaped": "\u00e9\u4e2d", "quote": "say \"hi\"", "lines": "a\nb", "family": "👩‍👩‍👧"}"#,
            )
            .with(|e| {
                e.body = Some("Grüße, 世界 🌍\n\ttabbed".to_owned());
                e.blob = Some("Grüße 🌍".as_bytes().to_vec());
                e.tenant = Some("ünïcode-tenant");
            }),
        )
        .await;
    tx.commit().await.unwrap();

    // Large payloads: a 114 kB jsonb, a 288 kB text body, a 100 kB bytea.
    let lines: Vec<String> = (0..3_000)
        .map(|i| format!(r#"{{"item": "item-{i:04}", "quantity": {}}}"#, i % 7))
        .collect();
    let large = format!(r#"{{"lines": [{}]}}"#, lines.join(", "));
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new("Order", "o-2", "OrderLinesAdded", &large).with(|e| {
                e.body = Some("Ärger über 🐛 ".repeat(16_000));
                e.blob = Some((0..100_000u32).map(|i| (i * 31 % 256) as u8).collect());
            }),
        )
        .await;
    tx.commit().await.unwrap();

    // NULL payloads (every payload column), then blank texts and JSON scalars; a NULL
    // key; then an update, which the router drops and the relay never receives.
    let tx = client.transaction().await.unwrap();
    writer
        .insert(
            &tx,
            &Event::new("Order", "o-3", "OrderDeleted", "{}").with(|e| {
                e.payload = None;
                e.body = None;
                e.blob = None;
            }),
        )
        .await;
    for (n, body) in ["", "  \t\n"].into_iter().enumerate() {
        writer
            .insert(
                &tx,
                &Event::new("Invoice", &format!("i-{n}"), "InvoiceVoided", r#""""#).with(|e| {
                    e.body = Some(body.to_owned());
                    e.blob = Some(Vec::new());
                }),
            )
            .await;
    }
    for (n, scalar) in [r#""just a string""#, "42", "null", "[]"]
        .into_iter()
        .enumerate()
    {
        writer
            .insert(
                &tx,
                &Event::new("Invoice", &format!("i-{n}"), "InvoiceNoted", scalar),
            )
            .await;
    }
    writer
        .insert(
            &tx,
            &Event::new(
                "Invoice",
                "unused",
                "InvoiceOrphaned",
                r#"{"orphan": true}"#,
            )
            .with(|e| e.aggregateid = None),
        )
        .await;
    tx.commit().await.unwrap();
    client
        .execute(
            "UPDATE outboxevent SET type = 'CustomerUpdated' WHERE id = $1",
            &[&customer],
        )
        .await
        .unwrap();

    // Order per key: 24 rows over three keys and three aggregate types in one
    // transaction.
    let tx = client.transaction().await.unwrap();
    for i in 0..24 {
        let key = ["o-1", "o-2", "c-7"][i % 3];
        let aggregatetype = match i % 3 {
            2 => "Customer",
            _ if i % 4 == 0 => "OrderLine",
            _ => "Order",
        };
        writer
            .insert(
                &tx,
                &Event::new(
                    aggregatetype,
                    key,
                    &format!("Step{i}"),
                    &format!(r#"{{"seq": {i}}}"#),
                )
                .with(|e| {
                    e.attempt = i as i32;
                    e.urgent = i % 2 == 0;
                    e.tenant = (i % 5 != 0).then_some("acme");
                    e.stream = ["Payments", "Shipping"][i % 2];
                }),
            )
            .await;
    }
    tx.commit().await.unwrap();
    writer.rows
}
