//! `/v1/orders`: accept at once (PENDING), read with links, cancel.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use service::http::{IdPath, Problem, ValidJson, text};
use uuid::Uuid;

use super::representation::LineItem;
use super::{ApiState, OrderRepresentation};
use crate::application::create_order::{NewOrder, Placed};

/// The body of `POST /v1/orders`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrder {
    /// Who orders.
    pub consumer_id: Uuid,
    /// From which restaurant.
    pub restaurant_id: Uuid,
    /// What: at least one line, each with quantity 1 to 1000.
    #[schema(min_items = 1)]
    pub line_items: Vec<LineItem>,
}

impl CreateOrder {
    fn validate(&self) -> Result<(), Problem> {
        if self.line_items.is_empty() {
            return Err(Problem::invalid_field(
                "line_items",
                "an order needs at least one line item",
            ));
        }
        for (i, line) in self.line_items.iter().enumerate() {
            text::check(&line.menu_item_id, text::MAX_ID_CHARS).map_err(|reason| {
                Problem::invalid_field(&format!("line_items[{i}].menu_item_id"), reason)
            })?;
            if line.quantity == 0 || line.quantity > 1_000 {
                return Err(Problem::invalid_field(
                    &format!("line_items[{i}].quantity"),
                    "quantity must be between 1 and 1000",
                ));
            }
        }
        Ok(())
    }
}

impl From<CreateOrder> for NewOrder {
    fn from(request: CreateOrder) -> Self {
        Self {
            consumer_id: request.consumer_id,
            restaurant_id: request.restaurant_id,
            line_items: request.line_items.into_iter().map(Into::into).collect(),
        }
    }
}

/// What `GET /v1/orders/{id}?expand=` may include.
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Expansion {
    /// The consumer, from consumer-service.
    Consumer,
}

impl std::str::FromStr for Expansion {
    type Err = Problem;

    fn from_str(value: &str) -> Result<Self, Problem> {
        match value {
            "consumer" => Ok(Self::Consumer),
            _ => Err(Problem::invalid_field(
                "expand",
                "expand supports only `consumer`",
            )),
        }
    }
}

fn traceparent(headers: &HeaderMap) -> Option<&str> {
    headers.get("traceparent").and_then(|v| v.to_str().ok())
}

/// The request header naming a client's retry-safe key (IETF draft
/// "The Idempotency-Key HTTP Header Field").
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on a response that replays the order an earlier request with the same key created.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// The request's `Idempotency-Key`, if any: 1 to 255 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, Problem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let invalid = || {
        Problem::invalid_field(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )
    };
    let key = value.to_str().map_err(|_| invalid())?;
    let visible = key.bytes().all(|b| b.is_ascii_graphic());
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_CHARS || !visible {
        return Err(invalid());
    }
    Ok(Some(key))
}

type OrderCreatedResponse = (StatusCode, HeaderMap, Json<OrderRepresentation>);

/// 201 with the order and its `Location`; `Idempotent-Replayed: true` when an earlier
/// request with the same key created it.
fn created(placed: &Placed) -> OrderCreatedResponse {
    let mut headers = HeaderMap::new();
    if let Ok(location) = format!("/v1/orders/{}", placed.order.id).parse() {
        headers.insert(header::LOCATION, location);
    }
    if placed.replayed {
        headers.insert(
            IDEMPOTENT_REPLAYED,
            header::HeaderValue::from_static("true"),
        );
    }
    (
        StatusCode::CREATED,
        headers,
        Json(OrderRepresentation::from(&placed.order)),
    )
}

/// Accepts an order as PENDING and starts its validation.
///
/// Pattern "finish processing after returning a response": the order, `OrderCreated` and
/// both validation commands are written in one transaction through the outbox; the
/// answer does not wait for the validating services.
///
/// The order is priced from the menu replica. A restaurant the replica does not know yet
/// (created a moment ago) is waited for up to `orders.replica_wait_ms` (1 s); past that
/// the order is accepted unpriced (`total_cents` null), priced and validated when the
/// replica learns the restaurant, and rejected at its deadline if it never does.
/// Availability over a synchronous check, and the client is never blamed (422) for the
/// system's own replication lag.
#[utoipa::path(
    post,
    path = "/v1/orders",
    request_body = CreateOrder,
    params(
        ("Idempotency-Key" = Option<String>, Header, max_length = 255, min_length = 1, pattern = "^[!-~]+$",
         description = "Makes the request safe to retry: a request with a key that already created an order answers that order (with `Idempotent-Replayed: true`) instead of creating another; the same key with a different order is refused (422)")
    ),
    responses(
        (status = 201, description = "Accepted (PENDING; `total_cents` null while the restaurant is not in the menu replica yet); or, with an Idempotency-Key already used for the same order, that order again", body = OrderRepresentation,
         headers(("Location" = String, description = "The order's URL"), ("Idempotent-Replayed" = String, description = "`true` when the answer replays an earlier request with the same Idempotency-Key"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is invalid, or the Idempotency-Key was used for another order; `field` names it", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn create_order(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    ValidJson(request): ValidJson<CreateOrder>,
) -> Result<OrderCreatedResponse, Problem> {
    request.validate()?;
    let key = idempotency_key(&headers)?;
    let placed = state
        .application
        .create_order(request.into(), key, traceparent(&headers))
        .await?;
    Ok(created(&placed))
}

/// An order; with `?expand=consumer` also its consumer, fetched from consumer-service
/// through the resilient client. If that call fails (down, slow, breaker open) the order
/// is still returned, marked `degraded` — the fallback of the circuit breaker pattern.
#[utoipa::path(
    get,
    path = "/v1/orders/{id}",
    params(
        ("id" = Uuid, Path, description = "Order id"),
        ("expand" = Option<Expansion>, Query, description = "`consumer` to include the consumer")
    ),
    responses(
        (status = 200, description = "The order", body = OrderRepresentation),
        (status = 400, description = "Invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown expansion", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn get_order(
    State(state): State<Arc<ApiState>>,
    IdPath(id): IdPath,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Json<OrderRepresentation>, Problem> {
    let expansion = query.get("expand").map(|v| v.parse()).transpose()?;
    let expand_consumer = matches!(expansion, Some(Expansion::Consumer));
    let order = state.application.find_order(id).await?;
    let mut representation = OrderRepresentation::from(&order);
    if expand_consumer {
        match state
            .consumers
            .find(order.consumer_id, traceparent(&headers))
            .await
        {
            Ok(consumer) => representation.consumer = consumer,
            Err(e) => {
                tracing::warn!(error = %e, order_id = %id, "consumer unavailable; answering degraded");
                representation.degraded = true;
            }
        }
    }
    Ok(Json(representation))
}

/// Cancels an order that is PENDING or VALIDATED and publishes `OrderCancelled` (a
/// one-way notification other services may act on).
#[utoipa::path(
    post,
    path = "/v1/orders/{id}/cancel",
    params(("id" = Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "Cancelled", body = OrderRepresentation),
        (status = 400, description = "Invalid id", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not cancellable in its state", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn cancel_order(
    State(state): State<Arc<ApiState>>,
    IdPath(id): IdPath,
) -> Result<Json<OrderRepresentation>, Problem> {
    let order = state.application.cancel_order(id).await?;
    Ok(Json(OrderRepresentation::from(&order)))
}
