//! The router option sets both sides run, the differences the relay keeps, and how each
//! side of a set is configured: its slot, topic prefix, and Debezium's connector or the
//! relay's environment.

use ftgo_harness::Stack;
use ftgo_harness::debezium::OutboxConnector;

use super::{DEBEZIUM_PUBLICATION, PARTITIONS, RELAY_PUBLICATION};

/// The differences the relay keeps, as the test names them, with why. docs/architecture.md
/// ("Debezium outbox compatibility") lists exactly these rows.
pub(super) const DELIBERATE: [(&str, &str); 6] = [
    (
        "header `__debezium.context.connectorLogicalName` only from Debezium",
        CONTEXT_HEADERS,
    ),
    (
        "header `__debezium.context.connectorName` only from Debezium",
        CONTEXT_HEADERS,
    ),
    (
        "header `__debezium.context.runId` only from Debezium",
        CONTEXT_HEADERS,
    ),
    (
        "header `__debezium.context.taskId` only from Debezium",
        CONTEXT_HEADERS,
    ),
    ("header `traceparent` only from the relay", TRACE_CONTEXT),
    ("header `tracestate` only from the relay", TRACE_CONTEXT),
];

const CONTEXT_HEADERS: &str = "Debezium's context headers (`extended.headers.enabled`, on by \
     default since 3.2) name its connector, plugin, task and run; the relay has no connector or \
     task to name. Consumers of the outbox read `id` and the placed columns; \
     `extended.headers.enabled=false` removes these from Debezium's records too.";

const TRACE_CONTEXT: &str = "The relay forwards the writer's trace context from \
     `tracing.span.context.field` (every entry of the `java.util.Properties` text) so that a \
     consumer's span joins the writer's trace. Debezium reads that column only with \
     OpenTelemetry on Connect's class path (and then sends a `traceparent` of a span of its \
     own); the plain plugin ignores it. A consumer that does not trace ignores the headers.";

/// One set of router options, run by one connector and one relay.
#[derive(Debug)]
pub(super) struct OptionSet {
    /// Names the slots, the connector and the topic prefixes.
    pub(super) name: &'static str,
    /// Router options under Debezium's names; the relay gets each as
    /// `FTGO_DEBEZIUM__<NAME>` (`.` written `_`), which is how it maps them.
    pub(super) router: &'static [(&'static str, &'static str)],
    /// Further connector properties (a converter), for Debezium only.
    pub(super) connector: &'static [(&'static str, &'static str)],
}

/// Every router option the relay maps appears in at least one set (`table.fields.
/// additional.error.on.missing`, the pre-3.6 name, is not: Debezium 3.6 ignores it).
pub(super) const OPTION_SETS: [OptionSet; 7] = [
    OptionSet {
        name: "defaults",
        router: &[],
        connector: &[],
    },
    OptionSet {
        name: "placement",
        router: &[(
            "table.fields.additional.placement",
            "type:header:eventType,aggregatetype:header,tenant:header:tenant,attempt:header,\
             urgent:header:urgent,type:header",
        )],
        connector: &[],
    },
    OptionSet {
        name: "routing",
        router: &[
            ("route.topic.regex", "(?<kind>Order|Customer)(.*)"),
            ("route.topic.replacement", "routed.${kind}.v1$2"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "columns",
        router: &[
            ("table.field.event.id", "eventid"),
            ("table.field.event.key", "streamkey"),
            ("table.field.event.payload", "body"),
            ("route.by.field", "stream"),
            ("route.topic.replacement", "custom.${routedByValue}"),
            ("tracing.span.context.field", "tracing"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "tombstones",
        router: &[
            ("route.tombstone.on.empty.payload", "true"),
            ("table.field.event.payload", "body"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "missing",
        router: &[
            (
                "table.fields.additional.placement",
                "type:header:eventType,region:header",
            ),
            ("table.field.additional.missing", "ignore"),
        ],
        connector: &[],
    },
    OptionSet {
        name: "bytea",
        router: &[("table.field.event.payload", "blob")],
        connector: &[(
            "value.converter",
            "org.apache.kafka.connect.converters.ByteArrayConverter",
        )],
    },
];

pub(super) fn relay_slot(set: &OptionSet) -> String {
    format!("differential_relay_{}", set.name)
}

pub(super) fn debezium_slot(set: &OptionSet) -> String {
    format!("differential_debezium_{}", set.name)
}

/// What the relay of `set` puts before its topics, after the stack's prefix.
pub(super) fn relay_part(set: &OptionSet) -> String {
    format!("relay.{}.", set.name)
}

/// What Debezium's connector of `set` puts before its topics, after the stack's prefix.
pub(super) fn debezium_part(set: &OptionSet) -> String {
    format!("debezium.{}.", set.name)
}

pub(super) fn relay_prefix(stack: &Stack, set: &OptionSet) -> String {
    stack.topic(&relay_part(set))
}

pub(super) fn debezium_prefix(stack: &Stack, set: &OptionSet) -> String {
    stack.topic(&debezium_part(set))
}

/// The connector of `set`: its slot, the shared publication (it exists: Debezium leaves
/// it as it is), no snapshot (the workload waits in the slot), the router options, and
/// the topic prefix through a `RegexRouter` after the router.
pub(super) fn connector(stack: &Stack, set: &OptionSet) -> OutboxConnector {
    let mut connector =
        OutboxConnector::new(&format!("differential_{}", set.name), "public.outboxevent");
    connector.slot = debezium_slot(set);
    connector.publication = DEBEZIUM_PUBLICATION.to_owned();
    connector.publication_autocreate = "disabled".to_owned();
    connector.snapshot_mode = "no_data".to_owned();
    connector.router = set
        .router
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let prefix = debezium_prefix(stack, set);
    connector.extra = [
        ("transforms", "outbox,prefix"),
        (
            "transforms.prefix.type",
            "org.apache.kafka.connect.transforms.RegexRouter",
        ),
        ("transforms.prefix.regex", "(.*)"),
        (
            "transforms.prefix.replacement",
            format!("{prefix}$1").as_str(),
        ),
        ("topic.creation.default.replication.factor", "1"),
        (
            "topic.creation.default.partitions",
            PARTITIONS.to_string().as_str(),
        ),
    ]
    .iter()
    .chain(set.connector)
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    connector
}

/// The relay of `set`: its slot, the inserts-only publication, the router options as
/// `FTGO_DEBEZIUM__*`, its topic prefix.
pub(super) fn relay_env(set: &OptionSet, prefix: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = [
        ("FTGO_LAYOUT", "debezium"),
        ("FTGO_RELAY__TABLE", "public.outboxevent"),
        ("FTGO_RELAY__PUBLICATION", RELAY_PUBLICATION),
        ("FTGO_RELAY__SLOT", relay_slot(set).as_str()),
        ("FTGO_KAFKA__TOPIC_PREFIX", prefix),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    env.extend(set.router.iter().map(|(key, value)| {
        (
            format!("FTGO_DEBEZIUM__{}", key.replace('.', "_").to_uppercase()),
            (*value).to_owned(),
        )
    }));
    env
}
