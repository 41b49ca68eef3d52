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
