//! The key material a kube-apiserver needs, made fresh for each one: a CA, a serving
//! certificate it signs (for the loopback address and the in-cluster names), and the key
//! pair that signs and verifies service-account tokens. ECDSA P-256 throughout:
//! kube-apiserver accepts it for both roles, and rcgen makes it with `ring` alone.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

use crate::error::{IoContext, Result};

/// Where [`write`] put each file.
#[derive(Debug, Clone)]
pub(crate) struct Pki {
    /// The CA certificate clients trust (kubeconfig `certificate-authority`).
    pub ca: PathBuf,
    /// The serving certificate (`--tls-cert-file`).
    pub serving_cert: PathBuf,
    /// Its key (`--tls-private-key-file`).
    pub serving_key: PathBuf,
    /// The token signing key (`--service-account-signing-key-file`).
    pub service_account_key: PathBuf,
    /// Its public half (`--service-account-key-file`, what tokens are verified with).
    pub service_account_public: PathBuf,
}

/// Names the serving certificate is valid for: loopback, where the tests connect, and
/// the `kubernetes` Service's names, as a cluster's API server certificate has them.
const SERVING_NAMES: [&str; 5] = [
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// Generates the files in `dir` (keys readable by their owner only).
pub(crate) fn write(dir: &Path) -> Result<Pki> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "ftgo test kube-apiserver CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut params = CertificateParams::new(SERVING_NAMES.map(str::to_owned).to_vec())?;
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let serving_key = KeyPair::generate()?;
    let serving = params.signed_by(&serving_key, &ca)?;

    let service_account = KeyPair::generate()?;
    let pki = Pki {
        ca: dir.join("ca.crt"),
        serving_cert: dir.join("apiserver.crt"),
        serving_key: dir.join("apiserver.key"),
        service_account_key: dir.join("service-account.key"),
        service_account_public: dir.join("service-account.pub"),
    };
    for (path, text, secret) in [
        (&pki.ca, ca.pem(), false),
        (&pki.serving_cert, serving.pem(), false),
        (&pki.serving_key, serving_key.serialize_pem(), true),
        (
            &pki.service_account_key,
            service_account.serialize_pem(),
            true,
        ),
        (
            &pki.service_account_public,
            service_account.public_key_pem(),
            false,
        ),
    ] {
        write_file(path, &text, secret)?;
    }
    Ok(pki)
}

/// Writes `text` to `path`; a `secret` is created with mode 0600.
pub(crate) fn write_file(path: &Path, text: &str, secret: bool) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    if secret {
        options.mode(0o600);
    }
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .context(|| format!("write {}", path.display()))
}
