//! The `{id}` path segment as a UUID, rejected as problem+json naming `id`.
//!
//! axum's `Path<Uuid>` rejects with plain text; clients of these APIs get problem+json for
//! every error, so the segment is parsed here, once for every service.

use axum::extract::{FromRequestParts, Path};
use axum::http::StatusCode;
use axum::http::request::Parts;
use uuid::Uuid;

use super::problem::Problem;

/// The resource id from a route's single `{id}` segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdPath(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let invalid = |detail: String| {
            Problem::new(StatusCode::BAD_REQUEST, "invalid-path-parameter", detail).with_field("id")
        };
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| invalid(e.body_text()))?;
        raw.parse()
            .map(IdPath)
            .map_err(|_| invalid("path parameter `id` must be a UUID".into()))
    }
}
