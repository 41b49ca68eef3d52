//! A JSON body extractor whose rejections are problem+json naming the field.
//!
//! axum's own `Json` rejects with plain text and without the field's path; clients of a
//! public API need to know which field to fix. `serde_path_to_error` (made for exactly
//! this) gives the path.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use super::problem::Problem;

/// Largest accepted request body.
const MAX_BODY: usize = 256 * 1024;

/// A JSON request body of type `T`. Malformed JSON answers 400; a missing field, a value
/// of the wrong type or an unknown variant answers 422 with `field` set.
#[derive(Debug, Clone)]
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let essence = v.split(';').next().unwrap_or("").trim();
                essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
            });
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "expected Content-Type: application/json",
            ));
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "unreadable-body", e.body_text()))?;
        if body.len() > MAX_BODY {
            return Err(Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                format!("bodies are limited to {MAX_BODY} bytes"),
            ));
        }
        parse(&body).map(ValidJson)
    }
}

/// Deserializes `body`, mapping errors to problems that name the field.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let deserializer = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                format!("malformed JSON: {inner}"),
            )
        } else {
            // Missing fields are reported by serde at the enclosing object; name them.
            let message = inner.to_string();
            let field = match missing_field(&message) {
                Some(name) if path == "." => name.to_owned(),
                Some(name) => format!("{path}.{name}"),
                None => path,
            };
            Problem::invalid_field(&field, message)
        }
    })
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "fields exist to be deserialized")]
    struct Order {
        consumer_id: u64,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "fields exist to be deserialized")]
    struct Item {
        id: String,
        quantity: u32,
    }

    #[test]
    fn malformed_json_is_400() {
        let p = parse::<Order>(b"{\"consumer_id\": ").unwrap_err();
        assert_eq!(p.status, 400);
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let p = parse::<Order>(br#"{"consumer_id": 1, "items": [{"id": "a", "quantity": "x"}]}"#)
            .unwrap_err();
        assert_eq!(p.status, 422);
        assert_eq!(p.field.as_deref(), Some("items[0].quantity"));
    }

    #[test]
    fn missing_field_is_named() {
        let p = parse::<Order>(br#"{"items": []}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("consumer_id"));
        let p = parse::<Order>(br#"{"consumer_id": 1, "items": [{"id": "a"}]}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("items[0].quantity"));
    }
}
