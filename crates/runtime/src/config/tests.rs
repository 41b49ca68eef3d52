use std::collections::HashMap;

use serde::Deserialize;

use super::*;

const SECRET: &str = "pa55-word-that-must-not-leak";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sample {
    http: HttpSettings,
    database: DatabaseSettings,
    kafka: KafkaSettings,
}

fn env(pairs: &[(&str, &str)]) -> ConfigSource {
    let base = [
        ("FTGO_DATABASE__HOST", "127.0.0.1"),
        ("FTGO_DATABASE__USER", "order_service"),
        ("FTGO_DATABASE__NAME", "order_service"),
        ("FTGO_DATABASE__PASSWORD", SECRET),
        ("FTGO_KAFKA__BROKERS", "127.0.0.1:9092"),
        ("FTGO_HTTP__PORT", "8080"),
    ];
    let mut map: HashMap<String, String> = base
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for (k, v) in pairs {
        if v.is_empty() {
            map.remove(*k);
        } else {
            map.insert(k.to_string(), v.to_string());
        }
    }
    ConfigSource {
        file: None,
        env: Some(map),
    }
}

fn error_of(source: ConfigSource) -> String {
    source
        .load::<Sample>()
        .expect_err("configuration should be refused")
        .to_string()
}

#[test]
fn environment_overrides_nested_keys() {
    let s: Sample = env(&[("FTGO_DATABASE__PORT", "5433")]).load().unwrap();
    assert_eq!(s.database.port, 5433);
    assert_eq!(s.http.port, 8080);
    assert_eq!(s.kafka.brokers, "127.0.0.1:9092");
}

#[test]
fn missing_key_is_named() {
    let message = error_of(env(&[("FTGO_DATABASE__USER", "")]));
    assert!(message.contains("database.user"), "{message}");
    assert!(message.contains("missing"), "{message}");
}

#[test]
fn malformed_key_is_named_without_its_value() {
    let message = error_of(env(&[("FTGO_HTTP__PORT", "not-a-port-xyz")]));
    assert!(message.contains("http.port"), "{message}");
    assert!(!message.contains("not-a-port-xyz"), "{message}");
}

#[test]
fn out_of_range_value_is_named() {
    let message = error_of(env(&[("FTGO_DATABASE__PORT", "99999")]));
    assert!(message.contains("database.port"), "{message}");
}

#[test]
fn secret_never_appears_in_errors_or_debug_output() {
    // A secret sitting in a key of the wrong type is echoed by nothing.
    let message = error_of(env(&[("FTGO_DATABASE__PORT", SECRET)]));
    assert!(!message.contains(SECRET), "{message}");

    let message = error_of(env(&[("FTGO_DATABASE__NAME", "")]));
    assert!(!message.contains(SECRET), "{message}");

    let s: Sample = env(&[("FTGO_KAFKA__PROPERTIES__SASL_PASSWORD", SECRET)])
        .load()
        .unwrap();
    assert!(
        s.kafka
            .client_properties()
            .any(|(k, v)| k == "sasl.password" && v == SECRET)
    );
    let debug = format!("{s:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("REDACTED"), "{debug}");
}

#[test]
fn base_file_is_overridden_by_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("base.yaml");
    std::fs::write(
        &file,
        "http:\n  port: 1\ndatabase:\n  host: db\n  user: u\n  name: n\nkafka:\n  brokers: k:9092\n",
    )
    .unwrap();
    let source = ConfigSource {
        file: Some(file),
        env: Some(HashMap::from([("FTGO_HTTP__PORT".into(), "2".into())])),
    };
    let s: Sample = source.load().unwrap();
    assert_eq!(s.http.port, 2);
    assert_eq!(s.database.host, "db");
    assert!(s.database.password().unwrap().is_none());
}

#[test]
fn unreadable_base_file_is_an_error_naming_it() {
    let source = ConfigSource {
        file: Some("/nonexistent/ftgo.yaml".into()),
        env: Some(HashMap::new()),
    };
    let message = source.load::<Sample>().unwrap_err().to_string();
    assert!(message.contains("/nonexistent/ftgo.yaml"), "{message}");
}

#[test]
fn password_file_is_read_and_both_sources_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("password");
    std::fs::write(&file, format!("{SECRET}\n")).unwrap();
    let s: Sample = env(&[
        ("FTGO_DATABASE__PASSWORD", ""),
        ("FTGO_DATABASE__PASSWORD_FILE", file.to_str().unwrap()),
    ])
    .load()
    .unwrap();
    let password = s.database.password().unwrap().unwrap();
    assert_eq!(secrecy::ExposeSecret::expose_secret(&password), SECRET);

    let s: Sample = env(&[("FTGO_DATABASE__PASSWORD_FILE", file.to_str().unwrap())])
        .load()
        .unwrap();
    let message = s.database.password().unwrap_err().to_string();
    assert!(message.contains("database.password_file"), "{message}");
    assert!(!message.contains(SECRET), "{message}");
}

#[test]
fn the_config_file_variable_names_the_file_and_is_not_a_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("base.yaml");
    std::fs::write(&file, "kafka:\n  brokers: from-file:9092\n").unwrap();
    let mut env: HashMap<String, String> = [
        ("FTGO_DATABASE__HOST", "127.0.0.1"),
        ("FTGO_DATABASE__USER", "u"),
        ("FTGO_DATABASE__NAME", "n"),
        ("FTGO_HTTP__PORT", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.insert(CONFIG_FILE_VARIABLE.into(), file.display().to_string());
    // Sample refuses unknown keys: `config_file` must not reach it.
    let s: Sample = ConfigSource::from_env(env).load().unwrap();
    assert_eq!(s.kafka.brokers, "from-file:9092");
}

/// What the chart mounts as `FTGO_CONFIG_FILE` from `kafka.secretConfig`, with the
/// non-secret properties from the environment as the chart sets them.
fn sasl_settings(dir: &std::path::Path) -> Sample {
    let file = dir.join("kafka.yaml");
    std::fs::write(
        &file,
        format!("kafka:\n  properties:\n    sasl_password: {SECRET}\n"),
    )
    .unwrap();
    let mut source = env(&[
        ("FTGO_KAFKA__PROPERTIES__SECURITY_PROTOCOL", "SASL_SSL"),
        ("FTGO_KAFKA__PROPERTIES__SASL_MECHANISM", "SCRAM-SHA-512"),
        ("FTGO_KAFKA__PROPERTIES__SASL_USERNAME", "ftgo"),
        (
            "FTGO_KAFKA__PROPERTIES__SSL_CA_LOCATION",
            "/var/run/secrets/ftgo/kafka-ca/ca.crt",
        ),
    ]);
    source.file = Some(file);
    source.load().unwrap()
}

#[test]
fn sasl_and_tls_properties_from_file_and_environment_reach_every_rdkafka_client() {
    let dir = tempfile::tempdir().unwrap();
    let s = sasl_settings(dir.path());
    let config = s
        .kafka
        .client_config(&[("acks", "all"), ("security.protocol", "x")]);
    assert_eq!(config.get("bootstrap.servers"), Some("127.0.0.1:9092"));
    assert_eq!(config.get("acks"), Some("all"));
    assert_eq!(
        config.get("security.protocol"),
        Some("SASL_SSL"),
        "configured properties win over a client's defaults"
    );
    assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
    assert_eq!(config.get("sasl.username"), Some("ftgo"));
    assert_eq!(config.get("sasl.password"), Some(SECRET));
    assert_eq!(
        config.get("ssl.ca.location"),
        Some("/var/run/secrets/ftgo/kafka-ca/ca.crt")
    );
    // librdkafka itself accepts them: it is built with TLS and SCRAM (rdkafka's `ssl`
    // feature). A client is created (it connects later, in the background); "probe"
    // makes librdkafka use the system's CA certificates instead of the mounted file.
    let mut probe = config.clone();
    probe.set("ssl.ca.location", "probe");
    let _: rdkafka::producer::BaseProducer = s.kafka.create(&probe, "producer").unwrap();
    for shown in [format!("{s:?}"), format!("{config:?}")] {
        assert!(!shown.contains(SECRET), "{shown}");
    }
}

#[test]
fn a_refused_kafka_setting_is_named_without_any_secret_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = sasl_settings(dir.path());
    // A misspelt secret property: librdkafka refuses it, and rdkafka's error would
    // carry its value.
    s.kafka
        .properties
        .insert("sasl_passwrd_secret".into(), SECRET.into());
    let error = s
        .kafka
        .create::<rdkafka::producer::BaseProducer>(&s.kafka.client_config(&[]), "producer")
        .err()
        .expect("an unknown property is refused")
        .to_string();
    assert!(error.contains("sasl.passwrd.secret"), "{error}");
    assert!(!error.contains(SECRET), "{error}");
}

#[test]
fn properties_that_weaken_delivery_are_refused_naming_the_property_and_safe_values_pass() {
    let kafka = |properties: &[(&str, &str)]| KafkaSettings {
        brokers: "127.0.0.1:9092".into(),
        properties: properties
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        topic_prefix: String::new(),
        topics: TopicSettings::default(),
    };
    for (key, value) in [
        ("enable_idempotence", "false"),
        ("acks", "1"),
        ("message_timeout_ms", "5000"),
        ("partitioner", "random"),
    ] {
        let error = kafka(&[(key, value)]).validate().unwrap_err().to_string();
        assert!(
            error.contains(&format!("kafka.properties.{}", key.replace('_', "."))),
            "{error}"
        );
    }
    kafka(&[
        ("acks", "all"),
        ("enable_idempotence", "true"),
        ("linger_ms", "5"),
    ])
    .validate()
    .unwrap();
    let error = KafkaSettings {
        topic_prefix: "a b".into(),
        ..kafka(&[])
    }
    .validate()
    .unwrap_err()
    .to_string();
    assert!(error.contains("kafka.topic_prefix"), "{error}");
    for (topics, key) in [
        (
            TopicSettings {
                partitions: 0,
                ..TopicSettings::default()
            },
            "kafka.topics.partitions",
        ),
        (
            TopicSettings {
                replication_factor: -2,
                ..TopicSettings::default()
            },
            "kafka.topics.replication_factor",
        ),
    ] {
        let error = KafkaSettings {
            topics,
            ..kafka(&[])
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(error.contains(key), "{error}");
    }
}
