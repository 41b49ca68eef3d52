//! Debezium on Kafka Connect (being written).
