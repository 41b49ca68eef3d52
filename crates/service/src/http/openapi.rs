//! `GET /openapi.json`.

use axum::Router;
use axum::http::header;
use axum::routing::get;

use crate::{Error, Result};

/// `GET /openapi.json`: the service's OpenAPI 3.1 document, generated from its code and
/// rendered once, at start: a document that cannot be rendered stops the start with the
/// reason rather than serving an empty one.
pub fn openapi_route(document: &utoipa::openapi::OpenApi) -> Result<Router> {
    let json: &'static str = document
        .to_json()
        .map_err(|e| Error::OpenApi(e.to_string()))?
        .leak();
    Ok(Router::new().route(
        "/openapi.json",
        get(move || async move { ([(header::CONTENT_TYPE, "application/json")], json) }),
    ))
}
