//! `POST /v1/consumers` and `GET /v1/consumers/{id}`: the REST representations of a
//! consumer, translated to and from the use cases in [`crate::application`].

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use service::http::{IdPath, Problem, ValidJson};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::application;
use crate::domain::Consumer;
use service::Store;

/// A consumer to register.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConsumer {
    /// Display name, 1 to 200 characters with one that is not blank and no control
    /// characters (surrounding blanks are trimmed).
    #[schema(schema_with = service::http::text::name_schema, example = "Alice")]
    pub name: String,
    /// Largest order total the consumer may place, in cents; 100000 when absent.
    #[serde(default)]
    #[schema(minimum = 0, example = 50000)]
    pub order_limit_cents: Option<i64>,
}

/// A registered consumer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsumerView {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Largest order total accepted, in cents.
    pub order_limit_cents: i64,
    /// When it was registered (RFC 3339, UTC).
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<Consumer> for ConsumerView {
    fn from(c: Consumer) -> Self {
        Self {
            id: c.id,
            name: c.name,
            order_limit_cents: c.order_limit_cents,
            created_at: c.created_at,
        }
    }
}

/// Registers a consumer.
#[utoipa::path(
    post,
    path = "/v1/consumers",
    tag = "consumers",
    request_body = NewConsumer,
    responses(
        (status = 201, description = "Registered", body = ConsumerView,
            headers(("Location" = String, description = "URL of the new consumer"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is missing or invalid; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_consumer(
    State(state): State<Store>,
    ValidJson(body): ValidJson<NewConsumer>,
) -> Result<Response, Problem> {
    let NewConsumer {
        name,
        order_limit_cents,
    } = body;
    let consumer = state
        .in_unit_of_work(move |work| {
            Box::pin(
                async move { application::register_consumer(work, &name, order_limit_cents).await },
            )
        })
        .await?;
    let location = format!("/v1/consumers/{}", consumer.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(ConsumerView::from(consumer)),
    )
        .into_response())
}

/// Reads a consumer.
#[utoipa::path(
    get,
    path = "/v1/consumers/{id}",
    tag = "consumers",
    params(("id" = Uuid, Path, description = "The consumer's id")),
    responses(
        (status = 200, description = "The consumer", body = ConsumerView),
        (status = 400, description = "`id` is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consumer", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_consumer(
    State(state): State<Store>,
    IdPath(id): IdPath,
) -> Result<Json<ConsumerView>, Problem> {
    let client = state.connection().await?;
    let consumer = application::get_consumer(&client, id).await?;
    Ok(Json(consumer.into()))
}

#[cfg(test)]
mod tests {
    use service::http::json::parse;

    use super::*;

    #[test]
    fn body_errors_name_the_field() {
        let p = parse::<NewConsumer>(br#"{"name": "A", "nickname": "B"}"#).unwrap_err();
        assert_eq!(p.status, 422);
        assert_eq!(
            p.field.as_deref(),
            Some("nickname"),
            "unknown fields are named"
        );
        let p = parse::<NewConsumer>(br#"{"order_limit_cents": 1}"#).unwrap_err();
        assert_eq!(p.field.as_deref(), Some("name"));
    }
}
