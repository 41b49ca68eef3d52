//! Minimal HTTP/1.0 for probing `/readyz`, reading `/metrics` and Prometheus's API, and
//! placing a little load (no HTTP client dependency in the harness).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GETs `path`; returns the status code and body, or `None` if nothing answered.
pub async fn get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    exchange(
        address,
        format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n"),
    )
    .await
}

/// POSTs `body` as JSON; returns the status code and body, or `None` if nothing answered.
pub async fn post_json(address: SocketAddr, path: &str, body: &str) -> Option<(u16, String)> {
    exchange(
        address,
        format!(
            "POST {path} HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await
}

/// Sends one HTTP/1.0 request (the server closes the connection after answering).
async fn exchange(address: SocketAddr, request: String) -> Option<(u16, String)> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await.ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_owned()))
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}

/// The value of an unlabelled sample (or the sum over a family's labelled samples) in
/// Prometheus text output.
pub fn metric_value(metrics: &str, name: &str) -> Option<f64> {
    metric_value_matching(metrics, name, &[])
}

/// The sum of family `name`'s samples whose series contains every fragment of `labels`
/// (e.g. `outcome="duplicate"`, or `status="5` for every 5xx), or `None` if none matches.
pub fn metric_value_matching(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let family = series.split('{').next().unwrap_or(series);
        if family == name && labels.iter().all(|label| series.contains(label)) {
            let value: f64 = value.parse().ok()?;
            found = Some(found.unwrap_or(0.0) + value);
        }
    }
    found
}

/// `text` percent-encoded for a URL query value (RFC 3986 unreserved characters kept).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
