//! Reading back what the stack's processes wrote, to prove what they never write.

use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// The outcome of [`scan_for_secrets`]. Names files and which secret, never the secret.
#[derive(Debug, Default)]
pub struct SecretScan {
    /// Files read.
    pub files: usize,
    /// Bytes read.
    pub bytes: u64,
    /// `(file, index into the secrets given)` for every secret found.
    pub leaks: Vec<(PathBuf, usize)>,
}

/// Reads every file under `dir` (recursively, bytes compared, so binary and non-UTF-8
/// logs count too) and notes each of `secrets` found in one.
pub fn scan_for_secrets(dir: &Path, secrets: &[&str]) -> Result<SecretScan> {
    let mut scan = SecretScan::default();
    let mut pending = vec![dir.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).context(|| format!("read {}", dir.display()))? {
            let path = entry.context(|| format!("read {}", dir.display()))?.path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let text = std::fs::read(&path).context(|| format!("read {}", path.display()))?;
            scan.files += 1;
            scan.bytes += text.len() as u64;
            for (index, secret) in secrets.iter().enumerate() {
                if !secret.is_empty()
                    && text
                        .windows(secret.len())
                        .any(|window| window == secret.as_bytes())
                {
                    scan.leaks.push((path.clone(), index));
                }
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_planted_secret_in_nested_files_and_names_only_its_index() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("nested")).unwrap();
        std::fs::write(dir.path().join("clean.log"), "nothing here").unwrap();
        std::fs::write(dir.path().join("nested/leak.log"), b"x\xffhunter2\n").unwrap();
        let scan = scan_for_secrets(dir.path(), &["absent", "hunter2"]).unwrap();
        assert_eq!(scan.files, 2);
        assert_eq!(scan.leaks, vec![(dir.path().join("nested/leak.log"), 1)]);
    }
}
