//! The consumer loop: idempotent, dead-lettering, retrying.
//!
//! This is the one place that enforces "a message's effect is applied once": the handler
//! applies its effect inside a transaction that also inserts `(subscriber, message id)`
//! into `processed_messages`. A redelivered message (after a crash, a rebalance, or a
//! relay re-publishing after its own crash) conflicts on that key and is acknowledged
//! without being applied again. Offsets are stored only after the transaction commits,
//! so nothing is acknowledged before its effect is durable.
//!
//! Competing consumers: instances of one service share the consumer group (the
//! subscriber name); Kafka gives each partition to one of them, and since the key is the
//! aggregate id, one aggregate's messages are handled in order by one instance at a time.
//! Within an instance each assigned partition has its own worker: partitions are handled
//! concurrently, each in order.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deadpool_postgres::Pool;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use runtime::config::KafkaSettings;

use crate::dead_letter::DeadLetterProducer;
use crate::incoming::{HandlingError, IncomingMessage};
use crate::lag::{LagContext, STATISTICS_INTERVAL_MS};
use crate::{Error, Outbox, Result, UnitOfWork};

/// Handles the messages of one subscription.
pub trait MessageHandler: Send + Sync + 'static {
    /// Whether this handler knows `message_type` at `schema_version`; messages it does not
    /// know are dead-lettered with the reason.
    fn accepts(&self, message_type: &str, schema_version: i32) -> bool;

    /// Applies the message's effect in `work`, whose transaction also records the message
    /// as processed; replies and events it publishes there are written to the outbox when
    /// the loop commits it.
    fn handle<'a, 'c>(
        &'a self,
        work: &'a mut UnitOfWork<'c>,
        message: &'a IncomingMessage,
    ) -> impl Future<Output = Result<(), HandlingError>> + Send + 'a;
}

/// Who consumes what.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Consumer group id and deduplication namespace, e.g. `order-service.replies`.
    /// Instances of one service use the same name (competing consumers).
    pub subscriber: String,
    /// Topics to read.
    pub topics: Vec<String>,
}

/// How long the group coordinator waits for a silent member before it hands the
/// member's partitions to the others: after a crash (kill -9, OOM kill, node loss) those
/// partitions stall this long. librdkafka's default is 45 s; 10 s (with heartbeats every
/// 3 s) still rides out a broker's or the network's short hiccups, and this process has
/// no garbage-collection pauses. Measured in tests/e2e consumer_groups and
/// docs/reliability.md, "Consumer groups". `kafka.properties.session.timeout.ms` wins.
const SESSION_TIMEOUT_MS: &str = "10000";

/// How long the broker may hold a fetch when no data is there. librdkafka's 500 ms
/// default left created → VALIDATED at p50 41 / p99 119 ms on an idle stack of Apache
/// Kafka; 100 ms gave 33 / 42 ms, at 11.6 % of a core of idle broker CPU (6.3 % at 500 ms,
/// 22.4 % at 10 ms for no better latency): docs/benchmarks.md, "Consumers' fetch
/// settings". `kafka.properties.fetch.wait.max.ms` wins.
const FETCH_WAIT_MAX_MS: &str = "100";

/// How much a consumer prefetches. librdkafka fills each consumer's local queue up to
/// `queued.max.messages.kbytes`, 64 MiB by default, and a backlog fills it: draining
/// 200 MiB of 100 KiB records, consumer-service (one consumer) peaked at 92 MiB resident
/// and order-service (two) at 170 MiB, against 16–18 MiB idle. At 8 MiB (librdkafka then
/// caps `fetch.max.bytes` at it too) they peaked at 29 and 45 MiB, draining as fast:
/// docs/benchmarks.md, "Consumers' memory" (`cargo bench -p ftgo-e2e --bench
/// consumer_memory`); 4 MiB saved little more (26–29 and 38 MiB). The chart's memory
/// limits are sized by the 8 MiB figures (charts/ftgo/values.yaml).
/// `kafka.properties.queued.max.messages.kbytes` wins.
const QUEUED_MAX_MESSAGES_KBYTES: &str = "8192";

/// How long a partition's next fetch is put off once the local queue is full.
/// librdkafka's 1 s default outlasts a small queue: with the 8 MiB queue the consumers
/// ran dry between fetches and drained the same backlog in 1.3 times the time; at 100 ms
/// they drain as fast as with 64 MiB, for no more CPU (same benchmark).
/// `kafka.properties.fetch.queue.backoff.ms` wins.
const FETCH_QUEUE_BACKOFF_MS: &str = "100";

/// Tries a message that fails the same way each time ([`HandlingError::Failed`]) gets
/// before it is dead-lettered.
const FAILED_TRIES: u32 = 3;

/// Every value of the `outcome` label of `ftgo_consumer_messages_total`.
const OUTCOMES: [&str; 4] = ["handled", "duplicate", "dead_lettered", "retried"];

/// Consumer metrics, registered once per registry and shared by a service's
/// subscriptions (label `subscriber` is bounded by the code's subscriptions).
#[derive(Debug, Clone)]
pub struct ConsumerMetrics {
    messages: IntCounterVec,
    handle_seconds: HistogramVec,
    lag: IntGaugeVec,
}

impl ConsumerMetrics {
    /// Registers `ftgo_consumer_messages_total{subscriber,outcome}` (outcome: handled,
    /// duplicate, dead_lettered, retried), `ftgo_consumer_handle_seconds{subscriber}` and
    /// `ftgo_consumer_lag_messages{subscriber,topic,partition}` (labels bounded by the
    /// subscriptions and their topics' partition counts).
    pub fn register(registry: &Registry) -> Result<Self> {
        let messages = IntCounterVec::new(
            Opts::new(
                "ftgo_consumer_messages_total",
                "Consumed messages by subscriber and outcome.",
            ),
            &["subscriber", "outcome"],
        )?;
        let handle_seconds = HistogramVec::new(
            HistogramOpts::new(
                "ftgo_consumer_handle_seconds",
                "Time to handle one message, transaction included.",
            ),
            &["subscriber"],
        )?;
        let lag = IntGaugeVec::new(
            Opts::new(
                "ftgo_consumer_lag_messages",
                "Messages between the consumer's position and the partition's end, per \
                 assigned partition (librdkafka statistics).",
            ),
            &["subscriber", "topic", "partition"],
        )?;
        registry.register(Box::new(messages.clone()))?;
        registry.register(Box::new(handle_seconds.clone()))?;
        registry.register(Box::new(lag.clone()))?;
        Ok(Self {
            messages,
            handle_seconds,
            lag,
        })
    }

    /// Creates every outcome's series of `subscriber` at 0, so a rate sees the first
    /// messages and dashboards show a 0 rather than nothing.
    fn start_counting(&self, subscriber: &str) {
        for outcome in OUTCOMES {
            self.messages.with_label_values(&[subscriber, outcome]);
        }
    }

    fn count(&self, subscriber: &str, outcome: &str) {
        self.messages
            .with_label_values(&[subscriber, outcome])
            .inc();
    }
}

/// Everything a consumer loop needs besides its handler.
#[derive(Debug, Clone)]
pub struct ConsumerContext {
    /// The service's database pool.
    pub pool: Pool,
    /// The service's outbox, which handlers' units of work write to.
    pub outbox: Outbox,
    /// Where poison messages go.
    pub dead_letters: DeadLetterProducer,
    /// Shared metrics.
    pub metrics: ConsumerMetrics,
}

/// Consumes `subscription` until `stop` turns true.
pub async fn run<H: MessageHandler>(
    subscription: Subscription,
    kafka: &KafkaSettings,
    handler: Arc<H>,
    context: ConsumerContext,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let group = kafka.group(&subscription.subscriber);
    let config = kafka.client_config(&[
        ("group.id", &group),
        ("enable.auto.commit", "true"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("partition.assignment.strategy", "cooperative-sticky"),
        ("statistics.interval.ms", STATISTICS_INTERVAL_MS),
        ("session.timeout.ms", SESSION_TIMEOUT_MS),
        ("fetch.wait.max.ms", FETCH_WAIT_MAX_MS),
        ("queued.max.messages.kbytes", QUEUED_MAX_MESSAGES_KBYTES),
        ("fetch.queue.backoff.ms", FETCH_QUEUE_BACKOFF_MS),
        ("heartbeat.interval.ms", "3000"),
    ]);
    context.metrics.start_counting(&subscription.subscriber);
    let lag = LagContext::new(&subscription.subscriber, context.metrics.lag.clone());
    let consumer: StreamConsumer<LagContext> =
        kafka.create_with_context(&config, lag, "consumer")?;
    let topics: Vec<String> = subscription.topics.iter().map(|t| kafka.topic(t)).collect();
    let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer
        .subscribe(&topics)
        .map_err(|source| Error::Subscribe {
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            source,
        })?;
    tracing::info!(subscriber = %subscription.subscriber, ?topics, "consuming");

    let consumer = Arc::new(consumer);
    let worker = PartitionWorker {
        subscriber: Arc::from(subscription.subscriber.as_str()),
        consumer: Arc::clone(&consumer),
        handler,
        context: Arc::new(context),
    };
    let mut partitions: HashMap<(String, i32), mpsc::Sender<OwnedMessage>> = HashMap::new();
    let mut workers = JoinSet::new();
    loop {
        let received = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            received = consumer.recv() => received,
        };
        let message = match received {
            Ok(message) => message.detach(),
            Err(e) => {
                tracing::warn!(error = %e, subscriber = %subscription.subscriber, "consume error");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let queue = partitions
            .entry((message.topic().to_owned(), message.partition()))
            .or_insert_with(|| {
                let (queue, received) = mpsc::channel(PARTITION_QUEUE);
                workers.spawn(worker.clone().run(received, stop.clone()));
                queue
            });
        let sent = tokio::select! {
            _ = stop.wait_for(|stop| *stop) => break,
            sent = queue.send(message) => sent,
        };
        if sent.is_err() {
            // Its worker ended: only a stop ends one.
            break;
        }
    }
    // Each worker finishes the message in hand (or leaves it unacknowledged if it is
    // still failing) and drops what it has queued: those offsets are not stored.
    drop(partitions);
    while workers.join_next().await.is_some() {}
    // Commit what was stored, then leave the group: both wait for the broker, so they
    // run off the async threads, where the stop timeout can still fire if it is gone.
    let closed = tokio::task::spawn_blocking(move || {
        let _ = consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync);
        drop(consumer);
    });
    let _ = closed.await;
    Ok(())
}

/// Messages read ahead per partition while its worker is busy; the consumer waits when
/// a partition's queue is full.
const PARTITION_QUEUE: usize = 64;

/// Handles one partition's messages in order, concurrently with the other partitions:
/// order holds per key (a key lives on one partition), and a slow handler or a message
/// being retried holds up only its own partition.
struct PartitionWorker<H> {
    subscriber: Arc<str>,
    consumer: Arc<StreamConsumer<LagContext>>,
    handler: Arc<H>,
    context: Arc<ConsumerContext>,
}

impl<H> Clone for PartitionWorker<H> {
    fn clone(&self) -> Self {
        Self {
            subscriber: Arc::clone(&self.subscriber),
            consumer: Arc::clone(&self.consumer),
            handler: Arc::clone(&self.handler),
            context: Arc::clone(&self.context),
        }
    }
}

impl<H: MessageHandler> PartitionWorker<H> {
    /// Handles `queue` until it closes or a stop; stores each settled message's offset.
    async fn run(self, mut queue: mpsc::Receiver<OwnedMessage>, mut stop: watch::Receiver<bool>) {
        while let Some(message) = queue.recv().await {
            if *stop.borrow() {
                break;
            }
            let started = Instant::now();
            let settled = process(
                &self.subscriber,
                &message,
                self.handler.as_ref(),
                &self.context,
                &mut stop,
            )
            .await;
            self.context
                .metrics
                .handle_seconds
                .with_label_values(&[&self.subscriber])
                .observe(started.elapsed().as_secs_f64());
            if !settled {
                // Stopped while the message kept failing: its offset is not stored, so it
                // is not committed, and the partition's next owner (this service after a
                // restart, or another instance) receives it again.
                tracing::info!(
                    subscriber = %self.subscriber,
                    topic = message.topic(),
                    partition = message.partition(),
                    offset = message.offset(),
                    "stopping with a message unhandled; it stays unacknowledged"
                );
                break;
            }
            let stored =
                self.consumer
                    .store_offset(message.topic(), message.partition(), message.offset());
            if let Err(e) = stored {
                // The partition was revoked meanwhile: its new owner reads the message
                // again and finds it processed.
                tracing::warn!(error = %e, "cannot store offset; the message may be redelivered");
            }
        }
    }
}

/// Handles one message until it is handled, found duplicate, or dead-lettered (returns
/// `true`: its offset may be stored); retries passing failures with backoff, and returns
/// `false` if asked to stop meanwhile (the message must stay unacknowledged).
async fn process<H: MessageHandler>(
    subscriber: &str,
    raw: &OwnedMessage,
    handler: &H,
    context: &ConsumerContext,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let message = match IncomingMessage::from_kafka(raw) {
        Ok(m) if handler.accepts(&m.message_type, m.schema_version) => m,
        Ok(m) => {
            let reason = format!(
                "unknown message type {} version {}",
                m.message_type, m.schema_version
            );
            return dead_letter(subscriber, raw, &reason, context, stop).await;
        }
        Err(e) => {
            return dead_letter(subscriber, raw, &e.to_string(), context, stop).await;
        }
    };
    let mut backoff = Duration::from_millis(100);
    let mut failed_tries = 0;
    loop {
        match handle_once(subscriber, &message, handler, context).await {
            Ok(applied) => {
                context
                    .metrics
                    .count(subscriber, if applied { "handled" } else { "duplicate" });
                return true;
            }
            Err(HandlingError::Poison(reason)) => {
                return dead_letter(subscriber, raw, &reason, context, stop).await;
            }
            Err(HandlingError::Failed(reason)) if failed_tries + 1 >= FAILED_TRIES => {
                let reason = format!("failed {FAILED_TRIES} times: {reason}");
                return dead_letter(subscriber, raw, &reason, context, stop).await;
            }
            Err(error @ (HandlingError::Retry(_) | HandlingError::Failed(_))) => {
                if matches!(error, HandlingError::Failed(_)) {
                    failed_tries += 1;
                }
                let reason = error.to_string();
                context.metrics.count(subscriber, "retried");
                tracing::warn!(%reason, message_id = %message.id, "handling failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|stop| *stop) => return false,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// One attempt: `Ok(true)` applied, `Ok(false)` already processed before.
async fn handle_once<H: MessageHandler>(
    subscriber: &str,
    message: &IncomingMessage,
    handler: &H,
    context: &ConsumerContext,
) -> Result<bool, HandlingError> {
    let mut client = runtime::db::connection(&context.pool).await?;
    let mut work = context.outbox.begin(&mut client).await?;
    let transaction = work.transaction();
    let record = transaction
        .prepare_cached(
            "INSERT INTO processed_messages (subscriber, message_id) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
        )
        .await?;
    let inserted = transaction
        .execute(&record, &[&subscriber, &message.id])
        .await?;
    if inserted == 0 {
        work.rollback().await?;
        return Ok(false);
    }
    handler.handle(&mut work, message).await?;
    work.commit().await?;
    Ok(true)
}

/// Dead-letters `raw`; `true` once the dead-letter topic has it, `false` if the service
/// stopped first.
async fn dead_letter(
    subscriber: &str,
    raw: &OwnedMessage,
    reason: &str,
    context: &ConsumerContext,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    tracing::warn!(%reason, topic = raw.topic(), "dead-lettering a consumed message");
    // Headers rdkafka cannot read (a key that is not UTF-8) are left off; the reason
    // already says why the message is dead.
    let headers = crate::incoming::read_headers(raw).unwrap_or_default();
    let sent = context
        .dead_letters
        .send(
            raw.topic(),
            raw.key(),
            raw.payload().unwrap_or_default(),
            &headers,
            &format!("{subscriber}: {reason}"),
            stop,
        )
        .await;
    if sent {
        context.metrics.count(subscriber, "dead_lettered");
    }
    sent
}
