//! The worker's JVM and files: `worker.properties` (rewritten when the REST port
//! changes), Java properties files, and Log4j 2's configuration.

use std::net::SocketAddr;
use std::path::Path;

use super::DEFAULT_HEAP_OPTS;
use super::install::plugin_path;
use crate::error::{IoContext, Result};

/// `KAFKA_JVM_PERFORMANCE_OPTS` and `KAFKA_JMX_OPTS` as `kafka-run-class.sh` sets them.
pub(super) const JVM_OPTS: [&str; 10] = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
    "-Dcom.sun.management.jmxremote",
    "-Dcom.sun.management.jmxremote.authenticate=false",
    "-Dcom.sun.management.jmxremote.ssl=false",
];

/// How the worker's JVM runs and what it adds to `worker.properties`.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// `KAFKA_HEAP_OPTS`, split at spaces ([`DEFAULT_HEAP_OPTS`] by default).
    pub heap_opts: String,
    /// Further worker properties (they override the harness's), e.g. `producer.linger.ms`.
    pub extra: Vec<(String, String)>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            heap_opts: DEFAULT_HEAP_OPTS.to_owned(),
            extra: Vec::new(),
        }
    }
}

/// `worker.properties`, written again when the REST port changes.
pub(super) struct WorkerFiles<'a> {
    pub(super) dir: &'a Path,
    pub(super) bootstrap: &'a str,
    pub(super) options: &'a WorkerOptions,
}

impl WorkerFiles<'_> {
    pub(super) fn write(&self, rest: SocketAddr) -> Result<()> {
        let converter = "org.apache.kafka.connect.storage.StringConverter";
        let mut properties: Vec<(String, String)> = [
            ("bootstrap.servers", self.bootstrap.to_owned()),
            ("key.converter", converter.to_owned()),
            ("value.converter", converter.to_owned()),
            (
                "offset.storage.file.filename",
                self.dir.join("offsets").display().to_string(),
            ),
            ("offset.flush.interval.ms", "10000".to_owned()),
            ("plugin.path", plugin_path().display().to_string()),
            ("plugin.discovery", "service_load".to_owned()),
            ("listeners", format!("http://{rest}")),
            ("config.providers", "file".to_owned()),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider".to_owned(),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in &self.options.extra {
            properties.retain(|(k, _)| k != key);
            properties.push((key.clone(), value.clone()));
        }
        write_properties(&self.dir.join("worker.properties"), &properties)
    }
}

/// Writes a Java properties file (`\`, and `:`/`=` in keys, escaped).
pub(super) fn write_properties(path: &Path, properties: &[(String, String)]) -> Result<()> {
    let text: String = properties
        .iter()
        .map(|(key, value)| {
            let key = key
                .replace('\\', "\\\\")
                .replace(':', "\\:")
                .replace('=', "\\=");
            format!("{key}={}\n", value.replace('\\', "\\\\"))
        })
        .collect();
    std::fs::write(path, text).context(|| format!("write {}", path.display()))
}

/// Log4j 2 as Connect's `config/connect-log4j2.yaml` logs to stdout (INFO), in the
/// properties format, which needs no YAML library on the class path.
pub(super) const LOG4J2: &str = "\
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
";
