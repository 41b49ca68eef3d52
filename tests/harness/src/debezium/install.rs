//! Where Debezium's jars live and how they get there: both poms resolved from Maven
//! Central by Maven, once per machine.

use std::path::{Path, PathBuf};

use super::{DEBEZIUM_VERSION, EVENT_ROUTER_CLASS};
use crate::error::{Error, IoContext, Result};
use crate::prereqs::{self, java};

/// Where the worker's and the connector's jars are resolved: `<cache>/debezium-<version>`.
pub fn home() -> PathBuf {
    prereqs::cache_dir().join(format!("debezium-{DEBEZIUM_VERSION}"))
}

/// The Kafka Connect worker's class path (a folder of jars).
pub fn worker_libs() -> PathBuf {
    home().join("connect-worker")
}

/// The worker's `plugin.path`: a folder of plugin folders.
pub fn plugin_path() -> PathBuf {
    home().join("plugins")
}

/// The PostgreSQL connector's plugin folder (the connector and its dependencies).
pub fn connector_plugin() -> PathBuf {
    plugin_path().join("debezium-connector-postgres")
}

/// Makes sure the worker and the connector can run: Java 17+ and Maven (from Debian when
/// missing), then both poms resolved from Maven Central into [`home`] (once per machine;
/// a changed pom is resolved again). Checks that the plugin holds the Outbox Event Router.
pub fn ensure_installed(progress: &dyn Fn(&str)) -> Result<()> {
    java::ensure_java_and_maven(progress)?;
    let poms = prereqs::workspace_root().join("tests/debezium");
    java::resolve_maven(
        "Kafka Connect worker",
        &poms.join("connect-worker/pom.xml"),
        &worker_libs(),
        progress,
    )?;
    std::fs::create_dir_all(plugin_path())
        .context(|| format!("create {}", plugin_path().display()))?;
    java::resolve_maven(
        "Debezium PostgreSQL connector",
        &poms.join("connector-postgres/pom.xml"),
        &connector_plugin(),
        progress,
    )?;
    let router = format!("{}.class", EVENT_ROUTER_CLASS.replace('.', "/"));
    match jar_holding(&connector_plugin(), &router)? {
        Some(jar) => {
            progress(&format!("Outbox Event Router: in {jar}"));
            Ok(())
        }
        None => Err(Error::Prerequisite {
            what: "Debezium PostgreSQL connector",
            reason: format!("no jar in {} holds {router}", connector_plugin().display()),
        }),
    }
}

/// The name of the jar in `dir` that has an entry `entry`. A zip's central directory
/// holds entry names uncompressed, so finding the bytes is enough.
fn jar_holding(dir: &Path, entry: &str) -> Result<Option<String>> {
    let entries = std::fs::read_dir(dir).context(|| format!("read {}", dir.display()))?;
    for path in entries.filter_map(|e| Some(e.ok()?.path())) {
        if path.extension().is_none_or(|ext| ext != "jar") {
            continue;
        }
        let bytes = std::fs::read(&path).context(|| format!("read {}", path.display()))?;
        if bytes
            .windows(entry.len())
            .any(|window| window == entry.as_bytes())
        {
            return Ok(path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned()));
        }
    }
    Ok(None)
}
