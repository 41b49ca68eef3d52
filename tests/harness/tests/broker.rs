use std::collections::HashMap;
use std::time::Duration;

use ftgo_harness::Stack;
use futures_util::StreamExt;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

const KEYS: usize = 5;
const PER_KEY: usize = 200;

#[tokio::test]
async fn idempotent_producer_keeps_keys_and_order_per_key() {
    let stack = Stack::start().await.unwrap();
    let topic = &stack.topic("harness.keyed");
    stack.broker.create_topic(topic, 3).await.unwrap();

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", stack.broker.bootstrap_servers())
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()
        .unwrap();
    let mut acks = Vec::new();
    for seq in 0..PER_KEY {
        for key in 0..KEYS {
            let key = format!("order-{key}");
            let payload = seq.to_string();
            let headers = OwnedHeaders::new().insert(Header {
                key: "seq",
                value: Some(payload.as_bytes()),
            });
            let record = FutureRecord::to(topic)
                .key(&key)
                .payload(&payload)
                .headers(headers);
            acks.push(producer.send_result(record).unwrap());
        }
    }
    for ack in acks {
        ack.await.unwrap().unwrap();
    }

    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", stack.broker.bootstrap_servers())
        .set("group.id", stack.topic("harness-test"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    let mut seen: HashMap<String, Vec<usize>> = HashMap::new();
    let mut stream = consumer.stream();
    let expected = KEYS * PER_KEY;
    let mut received = 0;
    while received < expected {
        let message = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("all records within 60 s")
            .unwrap()
            .unwrap();
        let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
        let seq: usize = std::str::from_utf8(message.payload().unwrap())
            .unwrap()
            .parse()
            .unwrap();
        let header = message.headers().unwrap().get(0);
        assert_eq!(header.key, "seq");
        assert_eq!(header.value, Some(seq.to_string().as_bytes()));
        seen.entry(key).or_default().push(seq);
        received += 1;
    }
    assert_eq!(seen.len(), KEYS);
    for (key, seqs) in seen {
        let in_order: Vec<usize> = (0..PER_KEY).collect();
        assert_eq!(seqs, in_order, "records of {key} out of order or missing");
    }
}
