//! Message formats: JSON (serde) or Protobuf (prost), chosen per channel by the
//! producer and named in each message's `content-type` header, so consumers decode
//! whichever arrives. Both map to the same contract types ([`crate::contracts::Contract`]).
//!
//! The choice is a deployment setting (`messaging.default_format`,
//! `messaging.formats.<channel>`), fixed for a process's life: [`MessagingSettings::install`]
//! sets it once at start-up for every message the process writes to its outbox, so the
//! code paths that build messages need not carry it.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::Deserialize;

/// How a payload is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (serde), `application/json`: readable, what every message used before.
    #[default]
    Json,
    /// Protobuf (prost, `services/platform/proto`), `application/x-protobuf`: smaller and
    /// faster to decode.
    Protobuf,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 2] = [Format::Json, Format::Protobuf];

    /// The `content-type` header value naming this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Protobuf => "application/x-protobuf",
        }
    }

    /// The format a `content-type` header names. A message without the header is JSON:
    /// messages written before the header existed are.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, String> {
        // Parameters (`; charset=utf-8`) do not change the format.
        match content_type.map(|v| v.split(';').next().unwrap_or_default().trim()) {
            None => Ok(Self::Json),
            Some(value) => Self::ALL
                .into_iter()
                .find(|f| value.eq_ignore_ascii_case(f.content_type()))
                .ok_or_else(|| format!("unknown content-type `{}`", value.escape_debug())),
        }
    }
}

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

/// The settings installed for this process (JSON everywhere until then).
static INSTALLED: RwLock<Option<MessagingSettings>> = RwLock::new(None);

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

    /// Makes these the settings of every message this process builds from now on.
    pub fn install(&self) {
        let mut installed = INSTALLED.write().unwrap_or_else(|e| e.into_inner());
        *installed = Some(self.clone());
    }

    /// The format the installed settings give `channel`.
    pub fn installed_format_for(channel: &str) -> Format {
        INSTALLED
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map_or(Format::Json, |s| s.format_for(channel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_name_their_format_and_a_missing_one_is_json() {
        for format in Format::ALL {
            assert_eq!(
                Format::from_content_type(Some(format.content_type())),
                Ok(format)
            );
        }
        assert_eq!(Format::from_content_type(None), Ok(Format::Json));
        assert_eq!(
            Format::from_content_type(Some("application/json; charset=utf-8")),
            Ok(Format::Json)
        );
        let unknown = Format::from_content_type(Some("text/csv")).unwrap_err();
        assert!(unknown.contains("text/csv"), "{unknown}");
    }

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
        let settings: Settings = crate::config::ConfigSource::from_env(env.into_iter().collect())
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
