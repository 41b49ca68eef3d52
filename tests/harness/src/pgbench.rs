//! pgbench, the yardstick of what PostgreSQL sustains: a script run at a client count
//! for a duration, its summary parsed; and the outbox's append written as pgbench
//! statements, so that a benchmark compares its system against exactly the SQL that
//! `outbox::append` sends.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::{Error, Postgres, Result, ServiceDatabase};

/// One outbox row as pgbench appends it: what `outbox::OutboxMessage` holds but its id
/// (each run makes a fresh one). The harness runs binaries and links none of the
/// services' crates, so it has this shape of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// The channel (Kafka topic).
    pub destination: String,
    /// The aggregate id: the Kafka key.
    pub key: String,
    /// The message type.
    pub message_type: String,
    /// Its schema version.
    pub schema_version: i32,
    /// The `headers` column.
    pub headers: BTreeMap<String, String>,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// pgbench's summary of one run.
#[derive(Debug, Clone, Default)]
pub struct PgbenchRun {
    /// Transactions per second (pgbench's `tps =`, without connection time).
    pub tps: f64,
    /// Transactions completed.
    pub transactions: u64,
    /// Mean latency of a transaction, ms.
    pub latency_ms: f64,
    /// Transactions that failed.
    pub failed: u64,
}

/// Runs `script` on `db` with `clients` connections (prepared statements, two threads)
/// for `duration`. The password reaches the child through its environment only.
pub async fn run(
    postgres: &Postgres,
    db: &ServiceDatabase,
    script: &Path,
    clients: u32,
    duration: Duration,
) -> Result<PgbenchRun> {
    let output = tokio::process::Command::new(postgres.bin_dir().join("pgbench"))
        .args(["-n", "-M", "extended", "-j", "2"])
        .arg(format!("-c{clients}"))
        .arg(format!("-T{}", duration.as_secs().max(1)))
        .arg("-f")
        .arg(script)
        .args(["-h", &db.host, "-p", &db.port.to_string(), "-U", &db.user])
        .arg(&db.name)
        .env("PGPASSWORD", &db.password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .await
        .map_err(|source| Error::Io {
            context: "run pgbench".into(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::Load(format!(
            "pgbench failed ({}): {stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    parse_summary(&stdout)
}

/// The figures of pgbench's closing summary.
fn parse_summary(stdout: &str) -> Result<PgbenchRun> {
    let find = |prefix: &str| -> Result<f64> {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| Error::Load(format!("pgbench output lacks `{prefix}`: {stdout}")))
    };
    Ok(PgbenchRun {
        tps: find("tps =")?,
        transactions: find("number of transactions actually processed:")? as u64,
        latency_ms: find("latency average =")?,
        failed: find("number of failed transactions:").unwrap_or(0.0) as u64,
    })
}

/// `outbox::append`'s SQL for `messages` as pgbench statements, inside the caller's
/// `BEGIN` … `COMMIT`: the `INSERT … SELECT FROM unnest(…)`, then the DELETE of the same
/// rows (log-tailing mode). Each run gets fresh message ids (`gen_random_uuid()`).
pub fn outbox_append(messages: &[OutboxRow]) -> String {
    let array = |items: Vec<String>, ty: &str| format!("ARRAY[{}]::{ty}[]", items.join(", "));
    let texts =
        |f: fn(&OutboxRow) -> &str| messages.iter().map(|m| sql_text(f(m))).collect::<Vec<_>>();
    let ids = array(vec!["gen_random_uuid()".into(); messages.len()], "uuid");
    let destinations = array(texts(|m| &m.destination), "text");
    let keys = array(texts(|m| &m.key), "text");
    let types = array(texts(|m| &m.message_type), "text");
    let versions = array(
        messages
            .iter()
            .map(|m| m.schema_version.to_string())
            .collect(),
        "int4",
    );
    let headers = array(
        messages.iter().map(|m| sql_json(&m.headers)).collect(),
        "jsonb",
    );
    let payloads = array(
        messages
            .iter()
            .map(|m| format!("'\\x{}'", hex(&m.payload)))
            .collect(),
        "bytea",
    );
    format!(
        "WITH appended AS (
    INSERT INTO outbox
        (id, destination, message_key, message_type, schema_version, headers, payload)
    SELECT * FROM unnest({ids}, {destinations}, {keys}, {types},
                         {versions}, {headers}, {payloads})
    RETURNING sequence)
SELECT array_agg(sequence) AS seqs FROM appended \\gset
DELETE FROM outbox WHERE sequence = ANY(:seqs::int8[]);
"
    )
}

/// A SQL string literal.
pub fn sql_text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// JSON as a SQL literal for pgbench: pretty-printed so that no `:` touches a name
/// character (pgbench would take `:2` for a variable); jsonb stores it the same.
pub fn sql_json<T: serde::Serialize>(value: &T) -> String {
    sql_text(&serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary_of_pgbench_15() {
        let stdout = "transaction type: script.sql
scaling factor: 1
number of clients: 8
number of transactions actually processed: 21234
number of failed transactions: 0 (0.000%)
latency average = 3.766 ms
initial connection time = 12.345 ms
tps = 2123.456789 (without initial connection time)
";
        let run = parse_summary(stdout).unwrap();
        assert_eq!(run.transactions, 21_234);
        assert_eq!(run.failed, 0);
        assert!((run.tps - 2123.456789).abs() < 1e-6);
        assert!((run.latency_ms - 3.766).abs() < 1e-9);
    }

    #[test]
    fn a_summary_without_tps_is_an_error_not_zero() {
        assert!(parse_summary("pgbench: error: connection refused").is_err());
    }

    #[test]
    fn the_append_is_one_insert_from_unnest_then_its_delete() {
        let message = OutboxRow {
            destination: "t.o".into(),
            key: "k'1".into(),
            message_type: "Made".into(),
            schema_version: 1,
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            payload: b"{}".to_vec(),
        };
        let sql = outbox_append(&[message]);
        assert!(sql.contains("unnest(ARRAY[gen_random_uuid()]::uuid[], ARRAY['t.o']::text[], ARRAY['k''1']::text[]"), "{sql}");
        assert!(sql.contains("DELETE FROM outbox WHERE sequence = ANY(:seqs::int8[]);"));
    }
}
