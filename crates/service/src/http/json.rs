//! A JSON body extractor whose rejections are problem+json naming the field.
//!
//! axum's own `Json` rejects with plain text and without the field's path; clients of a
//! public API need to know which field to fix. `serde_path_to_error` (made for exactly
//! this) gives the path.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
///
/// A number with a zero fraction (`5.0`) is read as the integer it is: JSON Schema's
/// `integer`, which the OpenAPI documents use, admits it, and so must the server.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    let mut value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            format!("malformed JSON: {e}"),
        )
    })?;
    integral_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        // Missing fields are reported by serde at the enclosing object; name them.
        let message = error.into_inner().to_string();
        let field = match missing_field(&message) {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None => path,
        };
        Problem::invalid_field(&field, message)
    })
}

/// Rewrites floats without a fraction that fit an `i64` or `u64` as integers.
fn integral_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            // 2^63 and 2^64 are exact in f64; the casts below are exact inside these bounds.
            if float.fract() == 0.0 {
                if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&float) {
                    *number = (float as i64).into();
                } else if (0.0..18_446_744_073_709_551_616.0).contains(&float) {
                    *number = (float as u64).into();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers_as_integers),
        Value::Object(members) => members.values_mut().for_each(integral_numbers_as_integers),
        _ => {}
    }
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
    fn integral_floats_are_integers_and_fractions_are_not() {
        let order: Order =
            parse(br#"{"consumer_id": 7.0, "items": [{"id": "a", "quantity": 2e0}]}"#).unwrap();
        assert_eq!((order.consumer_id, order.items[0].quantity), (7, 2));
        let p = parse::<Order>(br#"{"consumer_id": 7.5, "items": []}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("consumer_id"));
        let p = parse::<Order>(br#"{"consumer_id": 1e300, "items": []}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("consumer_id"));
    }

    #[test]
    fn missing_field_is_named() {
        let p = parse::<Order>(br#"{"items": []}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("consumer_id"));
        let p = parse::<Order>(br#"{"consumer_id": 1, "items": [{"id": "a"}]}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("items[0].quantity"));
    }
}
