//! No secret in any log: the whole system runs with its database passwords (random per
//! role, from files) and a Kafka secret (`sasl.password`, from the settings file a
//! Kubernetes Secret would be mounted as), serves an order end to end and meets a refused
//! database login; then every log the stack wrote (services, relays, PostgreSQL, broker)
//! is searched for every secret.
//!
//! The test broker listens PLAINTEXT only, so librdkafka holds `sasl.password` without
//! sending it: this proves the secret travels our settings and rdkafka's configuration of
//! every consumer and producer without being printed, not a SASL handshake.

use std::time::{Duration, Instant};

use ftgo_harness::logs::scan_for_secrets;

use crate::support::System;

#[tokio::test]
async fn no_password_or_kafka_secret_reaches_any_log() {
    let kafka_secret = format!("kafka-secret-{}", uuid::Uuid::new_v4().simple());
    // The `config` crate picks the format by extension, as the chart's `kafka.yaml` has.
    let settings = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(
        settings.path(),
        format!(
            "kafka:\n  properties:\n    sasl_username: ftgo\n    sasl_password: {kafka_secret}\n"
        ),
    )
    .unwrap();
    let settings_path = settings.path().display().to_string();
    let overrides: Vec<(&str, &str, &str)> = ftgo_harness::SERVICE_BINARIES
        .iter()
        .map(|binary| (*binary, "FTGO_CONFIG_FILE", settings_path.as_str()))
        .collect();
    let mut system =
        System::start_configured(&overrides, &[("FTGO_CONFIG_FILE", &settings_path)]).await;

    // The system works with the secret settings: an order goes through every service,
    // relay and topic.
    let consumer = system.create_consumer("Ada").await;
    let restaurant = system.create_restaurant(&[("samosa", 250)]).await;
    let order = system
        .place_order(consumer, restaurant, &[("samosa", 2)])
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    system
        .wait_for_state(&id, "VALIDATED", Duration::from_secs(60))
        .await;

    // A refused login: a relay with the wrong password retries and says why.
    let wrong = format!("wrong-password-{}", uuid::Uuid::new_v4().simple());
    let wrong_file = system.stack.dir().join("wrong.password");
    std::fs::write(&wrong_file, &wrong).unwrap();
    let wrong_file = wrong_file.display().to_string();
    let relay = system
        .stack
        .start_relay(
            "consumer_service",
            &[("FTGO_DATABASE__PASSWORD_FILE", &wrong_file)],
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while relay.metric("ftgo_relay_errors_total").await.unwrap_or(0.0) < 1.0 {
        assert!(Instant::now() < deadline, "the refused login was not seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut secrets = system.stack.passwords();
    let passwords = secrets.len();
    secrets.push(&kafka_secret);
    secrets.push(&wrong);
    let scan = scan_for_secrets(system.stack.logs_dir(), &secrets).unwrap();
    eprintln!(
        "[secrets] {} log files, {} bytes searched for {} secrets ({passwords} database \
         passwords, 1 Kafka secret, 1 refused password): {} found",
        scan.files,
        scan.bytes,
        secrets.len(),
        scan.leaks.len()
    );
    assert!(scan.files >= 7, "not every process's log was read");
    assert!(scan.leaks.is_empty(), "secrets in logs: {:?}", scan.leaks);
}
