//! Secrets stay out of logs and errors; bad configuration names the key.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

#[tokio::test]
async fn a_wrong_password_is_reported_without_any_password_in_the_logs() {
    let mut stack = stack_with_outbox().await;
    let wrong = "wrong-secret-4d1f9a";
    let file = stack.dir().join("wrong.password");
    std::fs::write(&file, wrong).unwrap();
    let file = file.display().to_string();
    let relay = stack
        .start_relay(SERVICE, &[("FTGO_DATABASE__PASSWORD_FILE", &file)])
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while relay.metric("ftgo_relay_errors_total").await.unwrap_or(0.0) < 2.0 {
        assert!(
            Instant::now() < deadline,
            "the relay never reported the refused login"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, reason) = ftgo_harness::http::get(relay.http_address(), "/readyz")
        .await
        .unwrap();
    assert_eq!(status, 503);
    assert!(
        reason.contains("password authentication failed"),
        "{reason}"
    );
    assert!(relay.is_running(), "a refused login is retried, not fatal");

    let mut secrets = stack.passwords();
    secrets.push(wrong);
    let scan = ftgo_harness::logs::scan_for_secrets(stack.logs_dir(), &secrets).unwrap();
    assert!(scan.files > 0, "no logs were read");
    assert!(scan.leaks.is_empty(), "passwords in logs: {:?}", scan.leaks);
}

/// A relay configuration that passes validation (it would then retry the database).
const BASE_ENV: [(&str, &str); 5] = [
    ("FTGO_DATABASE__HOST", "127.0.0.1"),
    ("FTGO_DATABASE__USER", "order_service"),
    ("FTGO_DATABASE__NAME", "order_service"),
    ("FTGO_DATABASE__PASSWORD", "s3cret-in-env-77"),
    ("FTGO_KAFKA__BROKERS", "127.0.0.1:9"),
];

#[test]
fn missing_or_malformed_configuration_names_the_key_and_exits_non_zero() {
    let relay = env!("CARGO_BIN_EXE_cdc-relay");
    let run = |env: &[(&str, &str)]| {
        let output = Command::new(relay)
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let base = BASE_ENV;
    let missing: Vec<_> = base
        .iter()
        .copied()
        .filter(|(k, _)| *k != "FTGO_DATABASE__USER")
        .collect();
    let stderr = run(&missing);
    assert!(stderr.contains("database.user"), "{stderr}");

    let mut malformed = base.to_vec();
    malformed.push(("FTGO_RELAY__MAX_IN_FLIGHT", "lots"));
    let stderr = run(&malformed);
    assert!(stderr.contains("relay.max_in_flight"), "{stderr}");
    assert!(!stderr.contains("s3cret-in-env-77"), "{stderr}");

    let mut unknown = base.to_vec();
    unknown.push(("FTGO_RELAY__SLOTT", "x"));
    let stderr = run(&unknown);
    assert!(stderr.contains("slott"), "{stderr}");
}

/// `kafka.properties` reach every client after the relay's own producer settings, so a
/// property could silently weaken what the relay promises (no loss, order per key): such
/// a configuration is refused at start, naming the property.
#[test]
fn properties_that_weaken_delivery_or_ordering_are_refused_naming_the_property() {
    let relay = env!("CARGO_BIN_EXE_cdc-relay");
    let base = BASE_ENV;
    for (variable, property) in [
        (
            "FTGO_KAFKA__PROPERTIES__ENABLE_IDEMPOTENCE",
            "enable.idempotence",
        ),
        ("FTGO_KAFKA__PROPERTIES__ACKS", "acks"),
        (
            "FTGO_KAFKA__PROPERTIES__REQUEST_REQUIRED_ACKS",
            "request.required.acks",
        ),
        (
            "FTGO_KAFKA__PROPERTIES__MESSAGE_TIMEOUT_MS",
            "message.timeout.ms",
        ),
        (
            "FTGO_KAFKA__PROPERTIES__DELIVERY_TIMEOUT_MS",
            "delivery.timeout.ms",
        ),
        ("FTGO_KAFKA__PROPERTIES__RETRIES", "retries"),
        ("FTGO_KAFKA__PROPERTIES__PARTITIONER", "partitioner"),
        (
            "FTGO_KAFKA__PROPERTIES__MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION",
            "max.in.flight.requests.per.connection",
        ),
    ] {
        let mut child = Command::new(relay)
            .env_clear()
            .envs(base)
            .env(variable, "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A relay that accepted the setting would go on (retrying the database forever).
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{variable}=1 was accepted: the relay kept running");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(!status.success(), "{variable} accepted: {stderr}");
        assert!(
            stderr.contains(&format!("kafka.properties.{property}")),
            "{variable}: {stderr}"
        );
    }
}
