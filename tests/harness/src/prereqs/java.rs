//! The JVM side of the prerequisites: a Java runtime and Maven, and artifacts resolved
//! from Maven Central into the cache directory (Apache Kafka's broker, Debezium).
//!
//! Nothing of these is committed: a pom under `tests/` names the artifacts, and Maven
//! copies them with their dependencies into a folder of jars once per machine. A folder
//! counts as resolved once its marker holds the pom it was resolved from, so an edited
//! pom or an interrupted copy is resolved again.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{apt_install, run};
use crate::error::{Error, Result};

/// The oldest Java that Apache Kafka 4 runs on.
pub const JAVA_MAJOR: u32 = 17;

/// Debian packages that bring a Java runtime and Maven.
const JAVA_PACKAGES: [&str; 2] = ["openjdk-17-jdk-headless", "maven"];

/// The `java` launcher: `$FTGO_JAVA`, else `$JAVA_HOME/bin/java`, else `java` on `PATH`.
pub fn java_bin() -> PathBuf {
    if let Some(java) = std::env::var_os("FTGO_JAVA") {
        return java.into();
    }
    match std::env::var_os("JAVA_HOME") {
        Some(home) => Path::new(&home).join("bin").join("java"),
        None => PathBuf::from("java"),
    }
}

/// The major version `java -version` reports, if it runs.
fn java_major() -> Option<u32> {
    let output = Command::new(java_bin()).arg("-version").output().ok()?;
    if !output.status.success() {
        return None;
    }
    // `openjdk version "17.0.15" 2025-04-15` (stderr); "1.8.0_x" for Java 8.
    let text = String::from_utf8_lossy(&output.stderr);
    let quoted = text.split('"').nth(1)?;
    let mut parts = quoted.split('.');
    match parts.next()?.parse().ok()? {
        1 => parts.next()?.parse().ok(),
        major => Some(major),
    }
}

fn maven_runs() -> bool {
    Command::new("mvn")
        .args(["-B", "-v"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Makes sure a Java runtime of at least [`JAVA_MAJOR`] and Maven run, installing
/// Debian's OpenJDK 17 and Maven when either is missing.
pub fn ensure_java_and_maven(progress: &dyn Fn(&str)) -> Result<()> {
    let java = java_major();
    let maven = maven_runs();
    if java.is_some_and(|major| major >= JAVA_MAJOR) && maven {
        progress(&format!(
            "Java {} and Maven: present",
            java.unwrap_or_default()
        ));
        return Ok(());
    }
    let packages: Vec<String> = JAVA_PACKAGES.iter().map(|p| (*p).to_owned()).collect();
    apt_install(progress, &packages)?;
    match java_major() {
        Some(major) if major >= JAVA_MAJOR => {}
        Some(major) => {
            return Err(Error::Prerequisite {
                what: "Java",
                reason: format!(
                    "{} is Java {major}; Apache Kafka needs Java {JAVA_MAJOR} or later \
                     (install openjdk-{JAVA_MAJOR}-jdk-headless, or point JAVA_HOME or \
                     FTGO_JAVA at one)",
                    java_bin().display()
                ),
            });
        }
        None => {
            return Err(Error::Prerequisite {
                what: "Java",
                reason: format!(
                    "`{} -version` does not run (install openjdk-{JAVA_MAJOR}-jdk-headless, \
                     or point JAVA_HOME or FTGO_JAVA at a Java {JAVA_MAJOR}+ runtime)",
                    java_bin().display()
                ),
            });
        }
    }
    if !maven_runs() {
        return Err(Error::Prerequisite {
            what: "Maven",
            reason: "`mvn -v` does not run (install Debian's `maven` package)".into(),
        });
    }
    Ok(())
}

/// Copies the runtime dependencies that `pom` names into `dest` (a folder of jars),
/// unless `dest` was already resolved from the same pom. Maven's own progress (one line
/// per artifact fetched) is shown as it goes.
pub fn resolve_maven(
    what: &'static str,
    pom: &Path,
    dest: &Path,
    progress: &dyn Fn(&str),
) -> Result<()> {
    let wanted = std::fs::read_to_string(pom).map_err(|e| Error::Prerequisite {
        what,
        reason: format!("read {}: {e}", pom.display()),
    })?;
    let marker = dest.join(".resolved-from-pom.xml");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted) {
        progress(&format!("{what}: present in {}", dest.display()));
        return Ok(());
    }
    progress(&format!(
        "{what}: missing, resolving {} from Maven Central into {} (once per machine; \
         Maven's progress follows)",
        pom.display(),
        dest.display()
    ));
    let partial = dest.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    let mut mvn = Command::new("mvn");
    mvn.args(["-B", "-f"])
        .arg(pom)
        .args(["dependency:copy-dependencies", "-DincludeScope=runtime"])
        .arg(format!("-DoutputDirectory={}", partial.display()));
    run("mvn dependency:copy-dependencies", mvn)?;
    std::fs::write(partial.join(".resolved-from-pom.xml"), &wanted).map_err(|e| {
        Error::Prerequisite {
            what,
            reason: format!("write marker in {}: {e}", partial.display()),
        }
    })?;
    // Only a finished copy is moved into place, so an interrupted one is redone.
    let _ = std::fs::remove_dir_all(dest);
    std::fs::rename(&partial, dest).map_err(|e| Error::Prerequisite {
        what,
        reason: format!("move {} into place: {e}", partial.display()),
    })?;
    progress(&format!("{what}: resolved"));
    Ok(())
}

/// A `-cp` argument naming every jar in `libs`.
pub fn classpath(libs: &Path) -> String {
    format!("{}/*", libs.display())
}
