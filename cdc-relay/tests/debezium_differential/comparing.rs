//! Comparing the two sides' records per topic and key, in order, into kinds of
//! differences; and what each side's stream covers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::reading::Record;

/// Which side published something.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Side {
    Debezium,
    Relay,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Debezium => "Debezium",
            Self::Relay => "the relay",
        })
    }
}

/// A kind of difference; its text is what [`DELIBERATE`] and the doc's table name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    TopicOnlyFrom(Side),
    RecordOnlyFrom(Side),
    Partition,
    Value,
    HeaderOnlyFrom(Side, String),
    HeaderValue(String),
    HeaderOrder,
    DeadLettered,
    ConnectorFailed,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TopicOnlyFrom(side) => write!(f, "topic only from {side}"),
            Self::RecordOnlyFrom(side) => write!(f, "record only from {side}"),
            Self::Partition => write!(f, "partition differs"),
            Self::Value => write!(f, "value differs"),
            Self::HeaderOnlyFrom(side, name) => write!(f, "header `{name}` only from {side}"),
            Self::HeaderValue(name) => write!(f, "header `{name}` differs"),
            Self::HeaderOrder => write!(f, "headers in another order"),
            Self::DeadLettered => write!(f, "row dead-lettered by the relay"),
            Self::ConnectorFailed => write!(f, "Debezium's connector failed"),
        }
    }
}

/// Every difference seen, by kind: how many, and the first few in words.
#[derive(Debug, Default)]
pub(super) struct Differences(pub(super) BTreeMap<Kind, (usize, Vec<String>)>);

impl Differences {
    pub(super) fn note(&mut self, kind: Kind, example: String) {
        let (count, examples) = self.0.entry(kind).or_default();
        *count += 1;
        if examples.len() < 3 {
            examples.push(example);
        }
    }
}

impl fmt::Display for Differences {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return writeln!(f, "  none");
        }
        for (kind, (count, examples)) in &self.0 {
            writeln!(f, "  {kind}: {count}×")?;
            for example in examples {
                writeln!(f, "    e.g. {example}")?;
            }
        }
        Ok(())
    }
}

type ByKey<'a> = BTreeMap<Option<&'a [u8]>, Vec<&'a Record>>;

/// `records` per topic and key, each key's in partition and offset order (one key is on
/// one partition; records without a key, whose partition is either side's choice, have
/// no order between partitions: the workload has one such row).
fn by_topic_and_key(records: &[Record]) -> BTreeMap<&str, ByKey<'_>> {
    let mut grouped: BTreeMap<&str, ByKey<'_>> = BTreeMap::new();
    for record in records {
        grouped
            .entry(&record.topic)
            .or_default()
            .entry(record.key.as_deref())
            .or_default()
            .push(record);
    }
    for keys in grouped.values_mut() {
        for list in keys.values_mut() {
            list.sort_by_key(|r| (r.partition, r.offset));
        }
    }
    grouped
}

/// Compares one option set's streams; returns the number of record pairs compared.
pub(super) fn compare(
    set: &str,
    debezium: &[Record],
    relay: &[Record],
    out: &mut Differences,
) -> usize {
    let (debezium, relay) = (by_topic_and_key(debezium), by_topic_and_key(relay));
    let topics: BTreeSet<&str> = debezium.keys().chain(relay.keys()).copied().collect();
    let mut pairs = 0;
    for topic in topics {
        let (d, r) = match (debezium.get(topic), relay.get(topic)) {
            (Some(d), Some(r)) => (d, r),
            (only, _) => {
                let side = if only.is_some() {
                    Side::Debezium
                } else {
                    Side::Relay
                };
                out.note(Kind::TopicOnlyFrom(side), format!("{set}: {topic}"));
                continue;
            }
        };
        let keys: BTreeSet<Option<&[u8]>> = d.keys().chain(r.keys()).copied().collect();
        for key in keys {
            let empty = Vec::new();
            let (d, r) = (d.get(&key).unwrap_or(&empty), r.get(&key).unwrap_or(&empty));
            for index in 0..d.len().max(r.len()) {
                let at = format!(
                    "{set}: {topic}, key {}, #{index}",
                    show(&key.map(<[u8]>::to_vec))
                );
                match (d.get(index), r.get(index)) {
                    (Some(d), Some(r)) => {
                        pairs += 1;
                        compare_records(&at, d, r, out);
                    }
                    (Some(_), None) => out.note(Kind::RecordOnlyFrom(Side::Debezium), at),
                    (None, _) => out.note(Kind::RecordOnlyFrom(Side::Relay), at),
                }
            }
        }
    }
    pairs
}

fn compare_records(at: &str, d: &Record, r: &Record, out: &mut Differences) {
    if d.key.is_some() && d.partition != r.partition {
        out.note(
            Kind::Partition,
            format!("{at}: Debezium {}, relay {}", d.partition, r.partition),
        );
    }
    if d.value != r.value {
        out.note(
            Kind::Value,
            format!(
                "{at}: Debezium {}, relay {}",
                show(&d.value),
                show(&r.value)
            ),
        );
    }
    let names = |headers: &[(String, Option<Vec<u8>>)]| -> BTreeSet<String> {
        headers.iter().map(|(name, _)| name.clone()).collect()
    };
    let (d_names, r_names) = (names(&d.headers), names(&r.headers));
    for name in d_names.difference(&r_names) {
        out.note(
            Kind::HeaderOnlyFrom(Side::Debezium, name.clone()),
            at.into(),
        );
    }
    for name in r_names.difference(&d_names) {
        out.note(Kind::HeaderOnlyFrom(Side::Relay, name.clone()), at.into());
    }
    let common = |headers: &[(String, Option<Vec<u8>>)]| -> Vec<(String, Option<Vec<u8>>)> {
        headers
            .iter()
            .filter(|(name, _)| d_names.contains(name) && r_names.contains(name))
            .cloned()
            .collect()
    };
    let (d_common, r_common) = (common(&d.headers), common(&r.headers));
    if d_common == r_common {
        return;
    }
    let mut named = false;
    for name in d_names.intersection(&r_names) {
        let values = |headers: &[(String, Option<Vec<u8>>)]| -> Vec<String> {
            headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, value)| show(value))
                .collect()
        };
        let (dv, rv) = (values(&d_common), values(&r_common));
        if dv != rv {
            named = true;
            out.note(
                Kind::HeaderValue(name.clone()),
                format!("{at}: Debezium {dv:?}, relay {rv:?}"),
            );
        }
    }
    if !named {
        let order = |headers: &[(String, Option<Vec<u8>>)]| -> Vec<String> {
            headers.iter().map(|(name, _)| name.clone()).collect()
        };
        out.note(
            Kind::HeaderOrder,
            format!(
                "{at}: Debezium {:?}, relay {:?}",
                order(&d_common),
                order(&r_common)
            ),
        );
    }
}

/// What one side's stream of an option set holds that the workload is meant to
/// exercise.
#[derive(Debug, Clone, Copy)]
pub(super) struct Coverage {
    pub(super) topics: usize,
    pub(super) null_keys: usize,
    pub(super) null_values: usize,
    pub(super) null_headers: usize,
}

impl Coverage {
    pub(super) fn of(records: &[Record]) -> Self {
        Self {
            topics: records
                .iter()
                .map(|r| r.topic.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            null_keys: records.iter().filter(|r| r.key.is_none()).count(),
            null_values: records.iter().filter(|r| r.value.is_none()).count(),
            null_headers: records
                .iter()
                .flat_map(|r| &r.headers)
                .filter(|(_, value)| value.is_none())
                .count(),
        }
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} topics, {} null keys, {} null values, {} null headers",
            self.topics, self.null_keys, self.null_values, self.null_headers
        )
    }
}

/// Bytes for a message: `null`, or the text (lossy), cut after 60 characters.
pub(super) fn show(bytes: &Option<Vec<u8>>) -> String {
    match bytes {
        None => "null".to_owned(),
        Some(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let cut: String = text.chars().take(60).collect();
            if cut.len() < text.len() {
                format!("{cut:?}… ({} bytes)", bytes.len())
            } else {
                format!("{cut:?}")
            }
        }
    }
}

pub(super) fn first_lines(text: &str, lines: usize) -> String {
    text.lines().take(lines).collect::<Vec<_>>().join(" / ")
}
