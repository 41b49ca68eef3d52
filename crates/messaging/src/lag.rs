//! Consumer lag from librdkafka's own statistics.
//!
//! librdkafka already tracks, per assigned partition, how far the stored and committed
//! offsets are behind the partition's high watermark (`consumer_lag_stored`,
//! `consumer_lag`); with `statistics.interval.ms`
//! set it hands its statistics to [`ClientContext::stats`]. Reading them costs no extra
//! broker request, unlike asking the broker for committed offsets and watermarks.
//!
//! rdkafka delivers statistics while the consumer loop polls (`recv`). While a handler
//! retries one message for long (its database is down), the gauge keeps its last value;
//! `ftgo_consumer_messages_total{outcome="retried"}` shows that case.

use prometheus::IntGaugeVec;
use rdkafka::client::ClientContext;
use rdkafka::consumer::ConsumerContext as KafkaConsumerContext;
use rdkafka::statistics::Statistics;

/// How often librdkafka emits statistics (and so how fresh the lag gauge is).
pub(crate) const STATISTICS_INTERVAL_MS: &str = "5000";

/// The rdkafka client context of a consumer loop: publishes each assigned partition's lag
/// to `ftgo_consumer_lag_messages{subscriber,topic,partition}`.
pub(crate) struct LagContext {
    subscriber: String,
    lag: IntGaugeVec,
}

impl LagContext {
    pub(crate) fn new(subscriber: &str, lag: IntGaugeVec) -> Self {
        Self {
            subscriber: subscriber.to_owned(),
            lag,
        }
    }
}

impl ClientContext for LagContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // Partition -1 is librdkafka's internal "unassigned" queue.
                if *partition < 0 {
                    continue;
                }
                let partition = partition.to_string();
                let labels = [self.subscriber.as_str(), topic.as_str(), partition.as_str()];
                // Behind the offset stored after the last handled message (the loop stores
                // it once the handler's transaction committed); before this instance stored
                // one, behind the group's committed offset. -1 for both: not assigned
                // here (or not known yet): drop the series, so a revoked partition does
                // not keep reporting a stale lag.
                let lag = if p.consumer_lag_stored >= 0 {
                    p.consumer_lag_stored
                } else {
                    p.consumer_lag
                };
                if lag < 0 {
                    let _ = self.lag.remove_label_values(&labels);
                } else {
                    self.lag.with_label_values(&labels).set(lag);
                }
            }
        }
    }
}

impl KafkaConsumerContext for LagContext {}
