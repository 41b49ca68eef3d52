//! The two encodings of every contract type.

use serde::Deserialize;

/// How a payload is encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON (serde), `application/json`: readable, what every message used before.
    #[default]
    Json,
    /// Protobuf (prost, `crates/contracts/proto`), `application/x-protobuf`: smaller and
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
}
