//! Free loopback ports, and starting a server on them while another process may take
//! them first.

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::process::log_tail;

/// Starts of a server that lose the race for a port before giving up.
const PORT_ATTEMPTS: usize = 5;

/// A port the OS had free a moment ago.
///
/// Another process may take it before our server binds it; the callers start the server
/// through [`retry_on_lost_port`], which tries again when that happened.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context(|| "bind port 0".into())?;
    Ok(listener
        .local_addr()
        .context(|| "read bound address".into())?
        .port())
}

/// Runs `start` (attempt 1, 2, ...), which picks its ports with [`free_port`] and
/// starts a server logging to `log`, until it succeeds, fails for another reason than
/// a port taken in between (see [`lost_a_port`]), or has lost the race
/// [`PORT_ATTEMPTS`] times. The one loop of every server the harness starts on free
/// ports.
pub(crate) async fn retry_on_lost_port<T>(
    log: &Path,
    mut start: impl AsyncFnMut(usize) -> Result<T>,
) -> Result<T> {
    let mut attempt = 1;
    loop {
        match start(attempt).await {
            Err(_) if attempt < PORT_ATTEMPTS && lost_a_port(log) => attempt += 1,
            result => return result,
        }
    }
}

/// Whether the end of `log` says a bind failed because the address was in use: what
/// PostgreSQL, Kafka, Prometheus, etcd, kube-apiserver and Java's `BindException` all
/// write, in one case or another.
fn lost_a_port(log: &Path) -> bool {
    log_tail(log, 50)
        .to_ascii_lowercase()
        .contains("address already in use")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_start_that_lost_its_port_is_tried_again_and_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        std::fs::write(&log, "bind: Address already in use\n").unwrap();
        let mut attempts = Vec::new();
        let result = retry_on_lost_port(&log, async |attempt| {
            attempts.push(attempt);
            if attempt < 3 {
                Err(crate::Error::Load("lost".into()))
            } else {
                Ok(attempt)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
        assert_eq!(attempts, [1, 2, 3]);

        std::fs::write(&log, "FATAL: something else\n").unwrap();
        let mut tries = 0;
        let result: Result<()> = retry_on_lost_port(&log, async |_| {
            tries += 1;
            Err(crate::Error::Load("broken".into()))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries, 1);
    }

    #[tokio::test]
    async fn it_gives_up_after_the_last_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        std::fs::write(&log, "java.net.BindException: Address already in use\n").unwrap();
        let mut tries = 0;
        let result: Result<()> = retry_on_lost_port(&log, async |_| {
            tries += 1;
            Err(crate::Error::Load("lost".into()))
        })
        .await;
        assert!(result.is_err());
        assert_eq!(tries, PORT_ATTEMPTS);
    }
}
