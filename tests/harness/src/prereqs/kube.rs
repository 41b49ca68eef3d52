//! A real Kubernetes API server for the tests: kube-apiserver and etcd, built from source
//! through the Go module proxy once per machine, and the CustomResourceDefinitions the
//! chart's optional objects need (Prometheus operator, Gateway API), taken from those
//! projects' modules on the same proxy.
//!
//! No Kubernetes binary is packaged anywhere the machines reach, but the Go toolchain and
//! the module proxy are. `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.37.2` is
//! refused (kubernetes' go.mod replaces its staging modules with local paths), and so is
//! `go install` of etcd's server module (its siblings are replaced the same way); so two
//! small wrapper modules in `tests/kube/` are the main modules instead, and `go build`
//! builds each binary from them. Their go.sum files pin every module by hash.
//!
//! Everything lands in [`kube_home`]; its marker holds the recipe (versions, wrapper
//! modules, Go version), so an edited wrapper or another Go is built again, and an
//! interrupted build is redone (it works in a `.partial` directory moved into place last).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{cache_dir, workspace_root};
use crate::error::{Error, Result};

/// The Kubernetes release built (`tests/kube/apiserver/go.mod` requires it).
pub const KUBE_VERSION: &str = "1.37.2";

/// The etcd release built (`tests/kube/etcd/go.mod`): the 3.7 line Kubernetes 1.37 is
/// tested with (its build/dependencies.yaml names 3.7.0), at its latest patch.
pub const ETCD_VERSION: &str = "3.7.3";

/// The prometheus-operator module whose `example/prometheus-operator-crd` holds the
/// ServiceMonitor and PrometheusRule CRDs (the newest version of that module the proxy
/// serves).
const PROMETHEUS_OPERATOR: (&str, &str) = (
    "github.com/prometheus-operator/prometheus-operator",
    "v0.85.0",
);

/// The Gateway API module whose `config/crd/standard` holds the HTTPRoute CRD (v1.7.0
/// needs Go 1.27).
const GATEWAY_API: (&str, &str) = ("sigs.k8s.io/gateway-api", "v1.6.3");

/// The CRDs installed into the API server before the chart: (module, file in it).
const CRDS: [((&str, &str), &str); 3] = [
    (
        PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
    ),
    (
        PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
    ),
    (
        GATEWAY_API,
        "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
    ),
];

/// Where the binaries and CRDs live once built: `<cache>/kube-<version>`.
pub fn kube_home() -> PathBuf {
    cache_dir().join(format!("kube-{KUBE_VERSION}"))
}

/// What [`ensure_kube_apiserver`] provides.
#[derive(Debug, Clone)]
pub struct KubeTools {
    /// The kube-apiserver binary.
    pub kube_apiserver: PathBuf,
    /// The etcd binary.
    pub etcd: PathBuf,
    /// CustomResourceDefinition manifests to install before the chart.
    pub crds: Vec<PathBuf>,
}

impl KubeTools {
    fn in_dir(home: &Path) -> Self {
        Self {
            kube_apiserver: home.join("bin").join("kube-apiserver"),
            etcd: home.join("bin").join("etcd"),
            crds: CRDS
                .iter()
                .map(|(_, file)| home.join("crds").join(file_name(file)))
                .collect(),
        }
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The binaries as [`ensure_kube_apiserver`] left them, or an error saying to run
/// `cargo dev install` (the tests never build them: a build takes many minutes).
pub fn kube_tools() -> Result<KubeTools> {
    let home = kube_home();
    let wanted = recipe()?;
    if std::fs::read_to_string(home.join(MARKER)).is_ok_and(|m| m == wanted) {
        Ok(KubeTools::in_dir(&home))
    } else {
        Err(prerequisite(format!(
            "no kube-apiserver {KUBE_VERSION} built from this checkout's tests/kube in {} \
             (run `cargo dev install`)",
            home.display()
        )))
    }
}

const MARKER: &str = "built-from.txt";

/// Makes sure kube-apiserver, etcd and the CRDs are in [`kube_home`], building them when
/// missing (once per machine: 10 to 25 minutes on two cores). `progress` receives
/// one line per step and, while compiling, a line every 10% of the packages.
pub fn ensure_kube_apiserver(progress: &dyn Fn(&str)) -> Result<KubeTools> {
    let home = kube_home();
    let wanted = recipe()?;
    if std::fs::read_to_string(home.join(MARKER)).is_ok_and(|m| m == wanted) {
        progress(&format!(
            "kube-apiserver {KUBE_VERSION} and etcd {ETCD_VERSION}: present in {}",
            home.display()
        ));
        return Ok(KubeTools::in_dir(&home));
    }
    progress(&format!(
        "kube-apiserver {KUBE_VERSION} and etcd {ETCD_VERSION}: missing, building them from \
         the Go module proxy into {} (once per machine; 10 to 25 minutes on two cores)",
        home.display()
    ));
    let started = Instant::now();
    let partial = PathBuf::from(format!("{}.partial", home.display()));
    let _ = std::fs::remove_dir_all(&partial);
    let bin = partial.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| io_error(&bin, e))?;
    let built = KubeTools::in_dir(&partial);
    go_build(
        &GoBinary {
            name: "etcd",
            module: &wrapper("etcd"),
            package: "go.etcd.io/etcd/server/v3",
            ldflags: String::new(),
        },
        &built.etcd,
        progress,
    )?;
    check_version(&built.etcd, &format!("etcd Version: {ETCD_VERSION}"))?;
    go_build(
        &GoBinary {
            name: "kube-apiserver",
            module: &wrapper("apiserver"),
            package: "k8s.io/kubernetes/cmd/kube-apiserver",
            ldflags: kube_ldflags(),
        },
        &built.kube_apiserver,
        progress,
    )?;
    check_version(
        &built.kube_apiserver,
        &format!("Kubernetes v{KUBE_VERSION}"),
    )?;
    copy_crds(&partial, progress)?;
    let took = started.elapsed();
    // Kept for the record (the README quotes the build time).
    let info = partial.join("build-info.txt");
    let info_text = format!(
        "kube-apiserver {KUBE_VERSION}, etcd {ETCD_VERSION}, CRDs; built with {} in {}\n",
        go_version()?,
        minutes(took)
    );
    std::fs::write(&info, info_text).map_err(|e| io_error(&info, e))?;
    std::fs::write(partial.join(MARKER), &wanted).map_err(|e| io_error(&partial, e))?;
    let _ = std::fs::remove_dir_all(&home);
    std::fs::rename(&partial, &home).map_err(|e| io_error(&home, e))?;
    progress(&format!(
        "kube-apiserver {KUBE_VERSION} and etcd {ETCD_VERSION}: built in {}",
        minutes(took)
    ));
    Ok(KubeTools::in_dir(&home))
}

/// A wrapper module in `tests/kube`.
fn wrapper(name: &str) -> PathBuf {
    workspace_root().join("tests/kube").join(name)
}

/// What the built binaries depend on: the versions, the wrapper modules (go.mod and
/// go.sum) and the CRD sources. Not the Go toolchain: a newer Go builds the same
/// sources, and a rebuild costs tens of minutes. Also checks that the wrappers require
/// the versions named here, so the binaries' version strings cannot lie.
fn recipe() -> Result<String> {
    let mut text = format!(
        "kube-apiserver {KUBE_VERSION}, etcd {ETCD_VERSION}, ldflags {}\n",
        kube_ldflags()
    );
    for ((module, version), file) in CRDS {
        text.push_str(&format!("crd {module}@{version}/{file}\n"));
    }
    for (name, requires) in [
        ("apiserver", format!("k8s.io/kubernetes v{KUBE_VERSION}")),
        ("etcd", format!("go.etcd.io/etcd/server/v3 v{ETCD_VERSION}")),
    ] {
        let dir = wrapper(name);
        let go_mod = std::fs::read_to_string(dir.join("go.mod"))
            .map_err(|e| io_error(&dir.join("go.mod"), e))?;
        // `require m v`, or `m v` in a require block as `go mod tidy` writes it (marked
        // `// indirect`: the module provides a `tool`, no imported package).
        let required = go_mod.lines().any(|line| {
            let line = line.trim();
            let line = line.strip_prefix("require ").unwrap_or(line);
            line == requires || line.strip_prefix(requires.as_str()) == Some(" // indirect")
        });
        if !required {
            return Err(prerequisite(format!(
                "{}/go.mod does not require {requires} (change the version in \
                 tests/harness/src/prereqs/kube.rs and in the wrapper together)",
                dir.display()
            )));
        }
        let go_sum = std::fs::read_to_string(dir.join("go.sum"))
            .map_err(|e| io_error(&dir.join("go.sum"), e))?;
        text.push_str(&format!(
            "--- {name}/go.mod\n{go_mod}--- {name}/go.sum\n{go_sum}"
        ));
    }
    Ok(text)
}

/// `go version`'s line, or an error saying Go is needed.
fn go_version() -> Result<String> {
    let output = Command::new("go")
        .arg("version")
        .output()
        .map_err(|e| prerequisite(format!("`go version`: {e} (install Go 1.26 or later)")))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The version strings `hack/lib/version.sh` links into a release build: kube-apiserver
/// reports them on `/version`, and Helm checks the chart's `kubeVersion` against them
/// (unset, the server says v0.0.0-master and Helm refuses the chart).
fn kube_ldflags() -> String {
    let minor = KUBE_VERSION.split('.').nth(1).unwrap_or_default();
    let mut flags = Vec::new();
    for package in [
        "k8s.io/component-base/version",
        "k8s.io/client-go/pkg/version",
    ] {
        for (key, value) in [
            ("gitVersion", format!("v{KUBE_VERSION}")),
            ("gitMajor", "1".to_owned()),
            ("gitMinor", minor.to_owned()),
            ("gitTreeState", "clean".to_owned()),
        ] {
            flags.push(format!("-X {package}.{key}={value}"));
        }
    }
    flags.join(" ")
}

/// One binary to build from a wrapper module.
struct GoBinary<'a> {
    name: &'static str,
    module: &'a Path,
    package: &'static str,
    ldflags: String,
}

/// Downloads the wrapper's modules, then `go build`s the binary into `output`, reporting
/// progress as packages compile (`go build -v` names each one it compiles).
fn go_build(binary: &GoBinary<'_>, output: &Path, progress: &dyn Fn(&str)) -> Result<()> {
    let name = binary.name;
    progress(&format!(
        "{name}: downloading modules from the Go module proxy ({}/go.mod)",
        binary.module.display()
    ));
    let mut download = go(binary.module);
    download.args(["mod", "download"]);
    run_quiet(name, download)?;
    let mut list = go(binary.module);
    list.args(["list", "-deps", binary.package]);
    let packages = run_quiet(name, list)?.lines().count();
    progress(&format!(
        "{name}: compiling {} ({packages} packages with the standard library; `go build`)",
        binary.package
    ));
    let started = Instant::now();
    let mut build = go(binary.module);
    build.args(["build", "-v", "-trimpath", "-o"]).arg(output);
    if !binary.ldflags.is_empty() {
        build.arg(format!("-ldflags={}", binary.ldflags));
    }
    build.arg(binary.package);
    let mut child = build
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| prerequisite(format!("spawn go build for {name}: {e}")))?;
    let mut compiled = 0usize;
    let mut reported = 0usize;
    // What is not a package path (a compiler error, a download) is kept for the error.
    let mut other = Vec::new();
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(|l| l.ok()) {
            if line.contains(' ') || line.contains(':') {
                other.push(line);
                continue;
            }
            compiled += 1;
            let percent = compiled * 100 / packages.max(1);
            if percent >= reported + 10 {
                reported = percent - percent % 10;
                progress(&format!(
                    "{name}: compiled {compiled} of at most {packages} packages ({})",
                    minutes(started.elapsed())
                ));
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| prerequisite(format!("wait for go build of {name}: {e}")))?;
    if !status.success() {
        let tail = other[other.len().saturating_sub(40)..].join("\n");
        return Err(prerequisite(format!(
            "go build {} ({status}), in {}:\n{tail}",
            binary.package,
            binary.module.display()
        )));
    }
    progress(&format!(
        "{name}: built in {} ({compiled} packages compiled, the rest from Go's build cache)",
        minutes(started.elapsed())
    ));
    Ok(())
}

/// `go` in `module`, building static binaries: kube-apiserver and etcd releases are
/// built with cgo off, and then no C toolchain is needed.
fn go(module: &Path) -> Command {
    let mut command = Command::new("go");
    command.current_dir(module).env("CGO_ENABLED", "0");
    command
}

/// Runs a `go` step, returning its stdout; on failure its stderr is the error.
fn run_quiet(name: &str, mut command: Command) -> Result<String> {
    let output = command.output().map_err(|e| {
        prerequisite(format!(
            "{name}: run {command:?}: {e} (is Go 1.26 installed?)"
        ))
    })?;
    if !output.status.success() {
        return Err(prerequisite(format!(
            "{name}: {command:?} ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Checks that `binary --version` prints `expected` (the versions linked in are the
/// ones asked for).
fn check_version(binary: &Path, expected: &str) -> Result<()> {
    let output = Command::new(binary)
        .arg("--version")
        .output()
        .map_err(|e| io_error(binary, e))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.lines().any(|l| l.trim() == expected) {
        Ok(())
    } else {
        Err(prerequisite(format!(
            "{} --version says {text:?}, not {expected:?}",
            binary.display()
        )))
    }
}

/// Downloads the CRDs' modules (`go mod download`, checked against the checksum
/// database) and copies the CRD files into `home/crds`.
fn copy_crds(home: &Path, progress: &dyn Fn(&str)) -> Result<()> {
    let crds = home.join("crds");
    std::fs::create_dir_all(&crds).map_err(|e| io_error(&crds, e))?;
    for ((module, version), file) in CRDS {
        progress(&format!("CRD {}: from {module}@{version}", file_name(file)));
        // Outside any module: `go mod download -json` then names the module's directory.
        let mut download = go(&cache_dir());
        download
            .args(["mod", "download", "-json"])
            .arg(format!("{module}@{version}"));
        let json = run_quiet("CRDs", download)?;
        let info: serde_json::Value = serde_json::from_str(&json)
            .map_err(|e| prerequisite(format!("go mod download -json {module}: {e}")))?;
        let Some(dir) = info["Dir"].as_str() else {
            return Err(prerequisite(format!(
                "go mod download {module}@{version}: {}",
                info["Error"]
            )));
        };
        let source = Path::new(dir).join(file);
        std::fs::copy(&source, crds.join(file_name(file))).map_err(|e| io_error(&source, e))?;
    }
    Ok(())
}

fn minutes(took: Duration) -> String {
    let seconds = took.as_secs();
    format!("{}m {:02}s", seconds / 60, seconds % 60)
}

fn prerequisite(reason: String) -> Error {
    Error::Prerequisite {
        what: "kube-apiserver",
        reason,
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    prerequisite(format!("{}: {e}", path.display()))
}
