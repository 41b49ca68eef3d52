//! The consumer and the rule order validation applies, free of HTTP, SQL and messages
//! so they can be unit-tested.

use uuid::Uuid;

use crate::{Error, Result};

/// Spending limit of a consumer registered without one: 1,000.00 in cents. The table's
/// column default mirrors it.
pub const DEFAULT_ORDER_LIMIT_CENTS: i64 = 100_000;

/// Longest consumer name, in characters (the table checks it too).
pub const MAX_NAME_CHARS: usize = service::http::text::MAX_NAME_CHARS;

/// A registration that passed validation: what gets stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Display name, trimmed, 1..=200 characters.
    pub name: String,
    /// Largest order total accepted, in cents.
    pub order_limit_cents: i64,
}

impl Registration {
    /// Validates a registration; errors name the field as the API spells it.
    pub fn new(name: &str, order_limit_cents: Option<i64>) -> Result<Self> {
        // The limit counts the blanks around the name, as the OpenAPI document does.
        service::http::text::check(name, MAX_NAME_CHARS)
            .map_err(|reason| Error::invalid("name", reason))?;
        let name = name.trim();
        let order_limit_cents = order_limit_cents.unwrap_or(DEFAULT_ORDER_LIMIT_CENTS);
        if order_limit_cents < 0 {
            return Err(Error::invalid("order_limit_cents", "must not be negative"));
        }
        Ok(Self {
            name: name.to_owned(),
            order_limit_cents,
        })
    }
}

/// A stored consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// Its id (UUIDv7, so ids sort by creation).
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Largest order total accepted, in cents.
    pub order_limit_cents: i64,
    /// When it was registered, RFC 3339 in UTC.
    pub created_at: String,
}

/// Why a consumer may not place an order; the reason goes back to order-service and,
/// from there, to whoever placed the order.
///
/// The domain's own answer, not the messaging crate's `Verdict`: the rule does not know
/// it is asked by a command (the application layer maps `Ok`/`Err` to the verdict).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection(pub String);

/// May `consumer` (looked up by `consumer_id`, `None` if unknown) place an order of
/// `order_total_cents`?
pub fn check_order(
    consumer_id: Uuid,
    consumer: Option<&Consumer>,
    order_total_cents: i64,
) -> Result<(), Rejection> {
    let Some(consumer) = consumer else {
        return Err(Rejection(format!("consumer {consumer_id} not found")));
    };
    if order_total_cents < 0 {
        return Err(Rejection(format!(
            "order total {order_total_cents} is negative"
        )));
    }
    if order_total_cents > consumer.order_limit_cents {
        return Err(Rejection(format!(
            "order total exceeds limit ({order_total_cents} > {} cents)",
            consumer.order_limit_cents
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(limit: i64) -> Consumer {
        Consumer {
            id: Uuid::now_v7(),
            name: "Ann".into(),
            order_limit_cents: limit,
            created_at: "2026-01-01T00:00:00.000000Z".into(),
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Registration::new("  Ann ", None).unwrap().name, "Ann");
        let blank = Registration::new("   ", None).unwrap_err();
        assert!(matches!(blank, Error::Invalid { ref field, .. } if field == "name"));
        let long = "é".repeat(MAX_NAME_CHARS + 1);
        assert!(Registration::new(&long, None).is_err());
        assert!(Registration::new(&"é".repeat(MAX_NAME_CHARS), None).is_ok());
    }

    #[test]
    fn limit_defaults_and_must_not_be_negative() {
        let r = Registration::new("Ann", None).unwrap();
        assert_eq!(r.order_limit_cents, DEFAULT_ORDER_LIMIT_CENTS);
        let e = Registration::new("Ann", Some(-1)).unwrap_err();
        assert!(matches!(e, Error::Invalid { ref field, .. } if field == "order_limit_cents"));
    }

    #[test]
    fn orders_up_to_the_limit_are_validated() {
        let c = consumer(1_000);
        assert_eq!(check_order(c.id, Some(&c), 1_000), Ok(()));
        assert_eq!(check_order(c.id, Some(&c), 0), Ok(()));
    }

    #[test]
    fn unknown_consumers_and_excess_totals_are_rejected_with_a_reason() {
        let id = Uuid::now_v7();
        assert_eq!(
            check_order(id, None, 1),
            Err(Rejection(format!("consumer {id} not found")))
        );
        let c = consumer(1_000);
        let Err(Rejection(reason)) = check_order(c.id, Some(&c), 1_001) else {
            panic!("over the limit must be rejected");
        };
        assert!(reason.starts_with("order total exceeds limit"), "{reason}");
        assert!(matches!(check_order(c.id, Some(&c), -5), Err(Rejection(_))));
    }
}
