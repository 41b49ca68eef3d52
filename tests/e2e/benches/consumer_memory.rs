//! The services' memory while their consumers drain a backlog (docs/benchmarks.md,
//! "Consumers' memory").
//!
//! ```sh
//! cargo build --release --workspace --bins && cargo bench -p ftgo-e2e --bench consumer_memory
//! ```
//!
//! librdkafka prefetches into each consumer's local queue until it holds
//! `queued.max.messages.kbytes` (64 MiB by default), so a backlog costs a service that
//! much per consumer on top of its own memory: consumer-service and restaurant-service
//! run one consumer each, order-service two (its replies, and the restaurant replica). A
//! full queue puts the partition's next fetch off by `fetch.queue.backoff.ms` (1 s by
//! default), which a small queue may not last.
//!
//! For each setting, librdkafka's defaults made explicit and the bound, on a stack of its
//! own (release binaries), each service in turn is stopped, `BACKLOG_BYTES` of large
//! records is produced on the topics it consumes, and it is started again. The records
//! carry a message type no handler knows: the consumer fetches and decodes each, then
//! dead-letters it, as it would a poison message. Taken per drain: resident memory before
//! the stop, after the start and after the drain, the peak (`VmHWM`, sampled), the time
//! from the start to the last record handled (so a throughput cost of a smaller queue
//! shows) and the service's CPU time.
//!
//! The settings alternate over `ROUNDS` rounds, so a change in the machine's other load
//! shows as spread within a setting. Prints progress on standard error, then a markdown
//! block and `bounded/default` ratio lines. `FTGO_BENCH_BOUNDED` replaces the bound under
//! test with its `property=value` pairs, space-separated (an experiment; the report says
//! so); set empty, the services run with the platform's own consumer settings.

#![allow(
    clippy::print_stdout,
    reason = "a benchmark's report is its standard output"
)]

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use contracts::{consumer, order, restaurant};
use ftgo_harness::http::{self, metric_value_matching};
use ftgo_harness::measure::{
    clock_ticks, command_line, machine, peak_rss_kib, rss_kib, ticks, wait_quiet,
};
use ftgo_harness::{AppProcess, Stack, StackOptions};
use outbox::headers;
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use uuid::Uuid;

/// librdkafka's defaults of the consumer properties under test, set explicitly so the
/// baseline does not follow the platform's own settings.
const DEFAULTS: &str = "queued.max.messages.kbytes=65536 fetch.queue.backoff.ms=1000";
/// The bound under test (`FTGO_BENCH_BOUNDED` replaces it).
const BOUNDED: &str = "queued.max.messages.kbytes=8192 fetch.queue.backoff.ms=100";
/// Each record's payload: large, so the backlog is bytes more than records (about 2,000)
/// and the queue's byte bound, not `queued.min.messages`, is what stops prefetching.
const RECORD_BYTES: usize = 100 * 1024;
/// The backlog of each service, spread evenly over the topics it consumes.
const BACKLOG_BYTES: usize = 200 * 1024 * 1024;
/// Rounds, each measuring every setting.
const ROUNDS: usize = 2;
/// A message type no handler accepts: each record is dead-lettered after decoding.
const FILLER_TYPE: &str = "ConsumerMemoryBenchFiller";
/// The services, with the channels each consumes (one consumer per channel).
const SERVICES: [(&str, &[&str]); 3] = [
    ("consumer-service", &[consumer::COMMANDS]),
    ("restaurant-service", &[restaurant::COMMANDS]),
    ("order-service", &[order::REPLIES, restaurant::EVENTS]),
];
/// How often the drain is checked (its counter and the memory), and progress printed.
const POLL_EVERY: Duration = Duration::from_millis(100);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How long one drain may take.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);
/// How long to wait for other work on the machine to stop before starting.
const QUIET_LIMIT: Duration = Duration::from_secs(120);

fn main() {
    ftgo_harness::measure::run_benchmark("ftgo-e2e", "consumer_memory", run());
}

fn step(message: &str) {
    eprintln!("[consumer_memory bench] {message}");
}

/// Consumer properties under test (librdkafka names), given to every service.
#[derive(Debug, Clone)]
struct Setting {
    name: &'static str,
    properties: Vec<(String, String)>,
}

impl Setting {
    /// `key=value key=value`.
    fn parse(name: &'static str, pairs: &str) -> Self {
        let properties = pairs
            .split_whitespace()
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("property=value");
                (k.to_owned(), v.to_owned())
            })
            .collect();
        Self { name, properties }
    }

    /// As the services' environment (`kafka.properties`, dots spelled `_`).
    fn env(&self) -> impl Iterator<Item = (String, String)> {
        self.properties.iter().map(|(k, v)| {
            let key = k.replace('.', "_").to_ascii_uppercase();
            (format!("FTGO_KAFKA__PROPERTIES__{key}"), v.clone())
        })
    }

    fn describe(&self) -> String {
        if self.properties.is_empty() {
            return "(none set: the platform's own consumer settings)".to_owned();
        }
        let pairs: Vec<String> = self
            .properties
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join(" ")
    }
}

/// One service draining one backlog.
#[derive(Debug)]
struct Drain {
    setting: Setting,
    round: usize,
    service: &'static str,
    consumers: usize,
    records: usize,
    /// Resident memory (KiB): before the stop, after the start, peak, after the drain.
    idle_kib: u64,
    started_kib: u64,
    peak_kib: u64,
    drained_kib: u64,
    /// From the start of the process to its last record dead-lettered.
    drained_in: Duration,
    /// CPU time (user + system) the service used from its start to then.
    cpu: Duration,
}

async fn run() {
    let binaries = ftgo_harness::binaries::path("order-service")
        .expect("release binaries: run `cargo build --release --workspace --bins` first");
    step(&format!(
        "service binaries from {}",
        binaries.parent().unwrap_or(Path::new("")).display()
    ));
    let experiment = std::env::var("FTGO_BENCH_BOUNDED").ok();
    let settings = [
        Setting::parse("default", DEFAULTS),
        Setting::parse("bounded", experiment.as_deref().unwrap_or(BOUNDED)),
    ];
    let quiet = wait_quiet(QUIET_LIMIT, step).await;
    let mut drains = Vec::new();
    for round in 1..=ROUNDS {
        for setting in &settings {
            drains.extend(measure(setting, round).await);
        }
    }
    println!(
        "{}",
        report(&settings, &drains, quiet, experiment.is_some())
    );
    for (service, _) in SERVICES {
        let of = |name| drains_of(&drains, service, name);
        let (default, bounded) = (of("default"), of("bounded"));
        println!(
            "bounded/default peak RSS ratio ({service}): {:.2}",
            max_peak(&bounded) as f64 / max_peak(&default) as f64
        );
        println!(
            "bounded/default drain time ratio ({service}): {:.2}",
            total_time(&bounded) / total_time(&default)
        );
    }
}

/// Every drain of one setting on a stack of its own: a fresh broker and fresh topics.
async fn measure(setting: &Setting, round: usize) -> Vec<Drain> {
    step(&format!(
        "round {round}, {} ({}): starting PostgreSQL, Apache Kafka, 3 relays, 3 services",
        setting.name,
        setting.describe()
    ));
    let service_env = SERVICES
        .iter()
        .flat_map(|(binary, _)| setting.env().map(|(k, v)| ((*binary).to_owned(), k, v)))
        .collect();
    let mut stack = Stack::start_with(StackOptions {
        private_broker: true,
        services: true,
        service_env,
        ..StackOptions::default()
    })
    .await
    .expect("the system starts");
    let mut drains = Vec::new();
    for (service, channels) in SERVICES {
        drains.push(drain(&mut stack, service, channels, setting, round).await);
    }
    drains
}

/// Stops `service`, fills `channels` with a backlog, starts it again and follows it
/// until the whole backlog is dead-lettered.
async fn drain(
    stack: &mut Stack,
    service: &'static str,
    channels: &[&str],
    setting: &Setting,
    round: usize,
) -> Drain {
    let process = stack.service(service, 0);
    let idle_kib = rss_kib(process.pid()).unwrap_or(0);
    process.terminate();
    let records = produce_backlog(stack, channels).await;

    let process = stack.service(service, 0);
    let started = Instant::now();
    process.restart().await.expect("the service starts again");
    let pid = process.pid();
    let started_kib = rss_kib(pid).unwrap_or(0);
    // The kernel's high-water mark can read a little low (its RSS counters are summed
    // lazily), so the peak is the highest of every reading.
    let mut peak_kib = 0;
    let mut progress_at = Instant::now();
    loop {
        let handled = dead_lettered(process).await;
        peak_kib = peak_kib.max(peak_rss_kib(pid).unwrap_or(0));
        if handled >= records {
            break;
        }
        assert!(
            process.is_running(),
            "{service} exited while draining; its log: {}",
            process.log_path().display()
        );
        assert!(
            started.elapsed() < DRAIN_LIMIT,
            "{service} handled {handled}/{records} records in {DRAIN_LIMIT:?}; its log: {}",
            process.log_path().display()
        );
        if progress_at.elapsed() >= PROGRESS_EVERY {
            progress_at = Instant::now();
            step(&format!(
                "  {service}: {handled}/{records} handled after {:.0?}, RSS {:.1} MiB, peak {:.1} MiB",
                started.elapsed(),
                mib(rss_kib(pid).unwrap_or(0)),
                mib(peak_kib)
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    let drained_in = started.elapsed();
    let drain = Drain {
        setting: setting.clone(),
        round,
        service,
        consumers: channels.len(),
        records,
        idle_kib,
        started_kib,
        peak_kib,
        drained_kib: rss_kib(pid).unwrap_or(0),
        drained_in,
        cpu: Duration::from_secs_f64(ticks(&pid.to_string()).0 as f64 / clock_ticks()),
    };
    step(&format!(
        "  {service}: {records} records drained in {drained_in:.1?}, peak RSS {:.1} MiB",
        mib(drain.peak_kib)
    ));
    drain
}

/// How many records `process`'s consumers have dead-lettered since it started (0 while
/// its metrics do not answer).
async fn dead_lettered(process: &AppProcess) -> usize {
    let Some((200, body)) = http::get(process.http_address(), "/metrics").await else {
        return 0;
    };
    metric_value_matching(
        &body,
        "ftgo_consumer_messages_total",
        &["outcome=\"dead_lettered\""],
    )
    .unwrap_or(0.0) as usize
}

/// Produces `BACKLOG_BYTES` of records of `FILLER_TYPE` round-robin over `channels`'
/// topics and waits until the broker has acknowledged every one; returns how many.
async fn produce_backlog(stack: &Stack, channels: &[&str]) -> usize {
    let count = BACKLOG_BYTES / RECORD_BYTES;
    step(&format!(
        "  producing {count} records of {} KiB on {}",
        RECORD_BYTES / 1024,
        channels.join(", ")
    ));
    let started = Instant::now();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", stack.broker.bootstrap_servers())
        .set("linger.ms", "20")
        .create()
        .expect("a producer");
    let topics: Vec<String> = channels.iter().map(|c| stack.topic(c)).collect();
    let payload = vec![b'x'; RECORD_BYTES];
    let mut deliveries = Vec::with_capacity(count);
    for i in 0..count {
        let (key, id) = (i.to_string(), Uuid::new_v4().to_string());
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: headers::MESSAGE_ID,
                value: Some(id.as_bytes()),
            })
            .insert(Header {
                key: headers::MESSAGE_TYPE,
                value: Some(FILLER_TYPE.as_bytes()),
            })
            .insert(Header {
                key: headers::SCHEMA_VERSION,
                value: Some("1".as_bytes()),
            });
        let record = FutureRecord::to(&topics[i % topics.len()])
            .key(&key)
            .payload(&payload)
            .headers(headers);
        let delivery = producer
            .send_result(record)
            .map_err(|(e, _)| e)
            .expect("the producer queue takes the record");
        deliveries.push(delivery);
    }
    for delivery in deliveries {
        delivery
            .await
            .expect("the producer is alive")
            .map_err(|(e, _)| e)
            .expect("the broker acknowledges the record");
    }
    step(&format!("  produced in {:.1?}", started.elapsed()));
    count
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn drains_of<'a>(drains: &'a [Drain], service: &str, setting: &str) -> Vec<&'a Drain> {
    drains
        .iter()
        .filter(|d| d.service == service && d.setting.name == setting)
        .collect()
}

/// The highest peak: what a memory limit must hold.
fn max_peak(drains: &[&Drain]) -> u64 {
    drains.iter().map(|d| d.peak_kib).max().unwrap_or(0)
}

fn total_time(drains: &[&Drain]) -> f64 {
    drains.iter().map(|d| d.drained_in.as_secs_f64()).sum()
}

fn report(settings: &[Setting], drains: &[Drain], quiet: bool, experiment: bool) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "```text");
    let _ = writeln!(o, "date:    {}", command_line("date", &["-u"]));
    let _ = writeln!(o, "machine: {}", machine());
    let _ = writeln!(
        o,
        "         {}; librdkafka {} (the services' and this bench's)",
        ftgo_harness::prereqs::kafka_description(),
        rdkafka::util::get_rdkafka_version().1
    );
    let _ = writeln!(
        o,
        "backlog: {} records of {} KiB ({} MiB) per service, spread over the topics it \
         consumes (3 partitions each), produced while it was stopped; a message type no \
         handler knows, so each is fetched, decoded and dead-lettered",
        BACKLOG_BYTES / RECORD_BYTES,
        RECORD_BYTES / 1024,
        BACKLOG_BYTES / 1024 / 1024
    );
    let _ = writeln!(
        o,
        "         machine quiet (< 15 % busy for 10 s) before the start: {}",
        if quiet {
            "yes"
        } else {
            "NO: drain times skewed by other work"
        }
    );
    if experiment {
        let _ = writeln!(
            o,
            "EXPERIMENT: the bound under test is FTGO_BENCH_BOUNDED's"
        );
    }
    for setting in settings {
        let _ = writeln!(o, "{:<8} {}", setting.name, setting.describe());
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "setting  round  service (consumers)    RSS MiB: idle / started / PEAK (VmHWM) / \
         drained   drain     MiB/s  service CPU"
    );
    for d in drains {
        let backlog_mib = (d.records * RECORD_BYTES) as f64 / 1024.0 / 1024.0;
        let _ = writeln!(
            o,
            "{:<8} {:>5}  {:<22} {:>6.1} / {:>6.1} / {:>6.1} / {:>6.1}          {:>6.1} s  {:>5.1}  {:>6.1} s",
            d.setting.name,
            d.round,
            format!("{} ({})", d.service, d.consumers),
            mib(d.idle_kib),
            mib(d.started_kib),
            mib(d.peak_kib),
            mib(d.drained_kib),
            d.drained_in.as_secs_f64(),
            backlog_mib / d.drained_in.as_secs_f64(),
            d.cpu.as_secs_f64()
        );
    }
    let _ = writeln!(o, "```");
    o
}
