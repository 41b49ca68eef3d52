//! Errors as `application/problem+json` (RFC 9457), naming the offending field.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem details document. `field` (an extension member) names the request field
/// at fault, as a JSON path such as `line_items[0].quantity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference identifying the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// The request field at fault, if one is.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
}

impl Problem {
    /// A problem with the given status, type slug (under `/problems/`) and detail.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Self {
            problem_type: format!("/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 404 for a resource that does not exist.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} not found"),
        )
    }

    /// 422 for a well-formed request whose field holds an unacceptable value.
    pub fn invalid_field(field: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", detail).with_field(field)
    }

    /// 500 without internals: the cause goes to the log, not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the request could not be completed",
        )
    }

    /// 500 for stored data the service cannot read: names what is corrupt (the client
    /// can report it), the reason goes to the log.
    pub fn corrupt(what: &str, reason: &str) -> Self {
        tracing::error!(what, reason, "corrupt stored data");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("stored {what} is corrupt"),
        )
    }

    /// 503 when a dependency (the database) is unavailable.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "dependency unavailable");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "a dependency is unavailable; try again",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = match serde_json::to_vec(&self) {
            Ok(body) => body,
            // Strings and a number: cannot happen, but never answer an empty problem.
            Err(error) => {
                tracing::error!(%error, "cannot render a problem");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

impl From<crate::Error> for Problem {
    fn from(error: crate::Error) -> Self {
        if error.is_database() {
            Self::unavailable(&error)
        } else {
            Self::internal(&error)
        }
    }
}

impl From<tokio_postgres::Error> for Problem {
    fn from(error: tokio_postgres::Error) -> Self {
        crate::Error::from(error).into()
    }
}
