//! The HTTP API conventions every service follows: errors as problem+json naming the
//! field ([`Problem`]), JSON bodies validated before a handler sees them ([`ValidJson`]),
//! ids in paths checked ([`IdPath`]), the OpenAPI document served ([`openapi_route`]) and
//! request metrics with bounded labels ([`metrics`]).

pub mod json;
pub mod metrics;
mod openapi;
mod path;
pub mod problem;
pub mod text;

pub use json::ValidJson;
pub use openapi::openapi_route;
pub use path::IdPath;
pub use problem::Problem;

use axum::Router;
use axum::http::StatusCode;

/// A service's API: `routes` with their `state`, every path answering a method it does
/// not support with 405 problem+json (not axum's empty body), plus `GET /openapi.json`
/// for `document`.
pub fn api_router<S>(
    routes: Router<S>,
    state: S,
    document: &utoipa::openapi::OpenApi,
) -> crate::Result<Router>
where
    S: Clone + Send + Sync + 'static,
{
    Ok(routes
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this resource does not support the method",
            )
        })
        .with_state(state)
        .merge(openapi_route(document)?))
}
