//! Which format each channel's messages are written in: JSON (serde) or Protobuf
//! (prost), named in each message's `content-type` header, so consumers decode whichever
//! arrives (see [`contracts::Format`]).
//!
//! The choice is a deployment setting (`messaging.default_format`,
//! `messaging.formats.<channel>`), held by the service's [`crate::Outbox`], which encodes
//! every message the service writes.

use std::collections::BTreeMap;

use contracts::Format;
use serde::Deserialize;

/// The `messaging` settings of a producing process: which format each channel it writes
/// to gets.
///
/// Channel names hold `.` and `-`, which environment variable names cannot: keys are
/// compared with both spelled as `_`, so `FTGO_MESSAGING__FORMATS__ORDER_EVENTS=protobuf`
/// and YAML `formats: {order.events: protobuf}` name the same channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagingSettings {
    /// Format of channels not named in `formats`.
    pub default_format: Format,
    /// Per-channel overrides.
    pub formats: BTreeMap<String, Format>,
}

fn normalize(channel: &str) -> String {
    channel
        .chars()
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

impl MessagingSettings {
    /// The format of messages written to `channel`.
    pub fn format_for(&self, channel: &str) -> Format {
        let channel = normalize(channel);
        self.formats
            .iter()
            .find(|(name, _)| normalize(name) == channel)
            .map_or(self.default_format, |(_, format)| *format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_gets_its_override_or_the_default_however_its_key_is_spelled() {
        let settings = MessagingSettings {
            default_format: Format::Json,
            formats: [
                ("order.events".to_owned(), Format::Protobuf),
                ("consumer_service_commands".to_owned(), Format::Protobuf),
            ]
            .into(),
        };
        assert_eq!(settings.format_for("order.events"), Format::Protobuf);
        assert_eq!(
            settings.format_for("consumer-service.commands"),
            Format::Protobuf
        );
        assert_eq!(settings.format_for("restaurant.events"), Format::Json);
        let all = MessagingSettings {
            default_format: Format::Protobuf,
            ..MessagingSettings::default()
        };
        assert_eq!(all.format_for("restaurant.events"), Format::Protobuf);
    }

    #[test]
    fn settings_load_from_the_environment() {
        let env = [
            ("FTGO_MESSAGING__DEFAULT_FORMAT", "protobuf"),
            ("FTGO_MESSAGING__FORMATS__ORDER_SERVICE_REPLIES", "json"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        #[derive(Deserialize)]
        struct Settings {
            messaging: MessagingSettings,
        }
        let settings: Settings = runtime::config::ConfigSource::from_env(env.into_iter().collect())
            .load()
            .unwrap();
        assert_eq!(
            settings.messaging.format_for("order-service.replies"),
            Format::Json
        );
        assert_eq!(
            settings.messaging.format_for("order.events"),
            Format::Protobuf
        );
    }
}
