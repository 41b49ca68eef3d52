//! An order's life: PENDING until both validations answer, then VALIDATED or REJECTED;
//! CANCELLED by the consumer while PENDING or VALIDATED.

use uuid::Uuid;

use super::menu::{LineItem, MenuItem};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Accepted, validation in progress.
    Pending,
    /// Both the consumer and the restaurant accepted it.
    Validated,
    /// A validation failed or none arrived before the deadline.
    Rejected,
    /// The consumer cancelled it.
    Cancelled,
}

impl OrderState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Validated => "VALIDATED",
            Self::Rejected => "REJECTED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Parses the stored form; `None` for anything else (a corrupt row).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => Self::Pending,
            "VALIDATED" => Self::Validated,
            "REJECTED" => Self::Rejected,
            "CANCELLED" => Self::Cancelled,
            _ => return None,
        })
    }

    /// Whether the consumer may still cancel.
    pub fn is_cancellable(self) -> bool {
        matches!(self, Self::Pending | Self::Validated)
    }
}

/// An answer from one of the validating services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    /// consumer-service accepted the consumer.
    ConsumerValidated,
    /// consumer-service refused, with the reason.
    ConsumerRejected(String),
    /// restaurant-service accepted the order details.
    DetailsValidated,
    /// restaurant-service refused, with the reason.
    DetailsRejected(String),
    /// No complete answer arrived before the deadline.
    DeadlinePassed,
}

/// What an event did to the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Nothing visible (first of two approvals, or a late answer).
    None,
    /// PENDING → VALIDATED.
    Validated,
    /// PENDING → REJECTED, with the reason.
    Rejected(String),
}

/// The order aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Order id.
    pub id: Uuid,
    /// Who ordered.
    pub consumer_id: Uuid,
    /// From which restaurant.
    pub restaurant_id: Uuid,
    /// What.
    pub line_items: Vec<LineItem>,
    /// Total, priced from the menu replica; `None` while the replica does not know the
    /// restaurant yet (the order waits for it, PENDING, and its validation starts once
    /// it is priced).
    pub total_cents: Option<i64>,
    /// Where it is in its life.
    pub state: OrderState,
    /// consumer-service said yes.
    pub consumer_validated: bool,
    /// restaurant-service said yes.
    pub restaurant_validated: bool,
    /// Why it was rejected.
    pub rejection_reason: Option<String>,
}

/// Why an order cannot be cancelled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order in state {} cannot be cancelled", .0.as_str())]
pub struct CancelError(pub OrderState);

/// The total of `line_items` at the replica's prices. Items not on the menu count zero
/// here: restaurant-service rejects them during validation, which is where the
/// restaurant's current menu is authoritative.
pub fn price(menu: &[MenuItem], line_items: &[LineItem]) -> i64 {
    line_items
        .iter()
        .map(|line| {
            menu.iter()
                .find(|item| item.id == line.menu_item_id)
                .map_or(0, |item| {
                    item.price_cents.saturating_mul(i64::from(line.quantity))
                })
        })
        .fold(0i64, i64::saturating_add)
}

impl Order {
    /// A new PENDING order, priced (`Some`) or waiting for its restaurant (`None`).
    pub fn create(
        consumer_id: Uuid,
        restaurant_id: Uuid,
        line_items: Vec<LineItem>,
        total_cents: Option<i64>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            consumer_id,
            restaurant_id,
            line_items,
            total_cents,
            state: OrderState::Pending,
            consumer_validated: false,
            restaurant_validated: false,
            rejection_reason: None,
        }
    }

    /// Applies a validation answer. Answers after the order left PENDING change nothing.
    pub fn apply(&mut self, validation: Validation) -> Transition {
        if self.state != OrderState::Pending {
            return Transition::None;
        }
        let rejection = match validation {
            Validation::ConsumerValidated => {
                self.consumer_validated = true;
                None
            }
            Validation::DetailsValidated => {
                self.restaurant_validated = true;
                None
            }
            Validation::ConsumerRejected(reason) | Validation::DetailsRejected(reason) => {
                Some(reason)
            }
            Validation::DeadlinePassed if self.total_cents.is_none() => Some(format!(
                "restaurant {} is not known before the deadline",
                self.restaurant_id
            )),
            Validation::DeadlinePassed => Some("validation did not complete in time".to_owned()),
        };
        if let Some(reason) = rejection {
            self.state = OrderState::Rejected;
            self.rejection_reason = Some(reason.clone());
            return Transition::Rejected(reason);
        }
        if self.consumer_validated && self.restaurant_validated {
            self.state = OrderState::Validated;
            return Transition::Validated;
        }
        Transition::None
    }

    /// Cancels the order if it still can be.
    pub fn cancel(&mut self) -> Result<(), CancelError> {
        if !self.state.is_cancellable() {
            return Err(CancelError(self.state));
        }
        self.state = OrderState::Cancelled;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order::create(Uuid::now_v7(), Uuid::now_v7(), vec![], Some(0))
    }

    #[test]
    fn an_order_never_priced_is_rejected_at_its_deadline_naming_the_restaurant() {
        let mut o = Order::create(Uuid::now_v7(), Uuid::now_v7(), vec![], None);
        let Transition::Rejected(reason) = o.apply(Validation::DeadlinePassed) else {
            panic!("not rejected");
        };
        assert!(reason.contains(&o.restaurant_id.to_string()), "{reason}");
        assert!(reason.contains("not known"), "{reason}");
    }

    #[test]
    fn both_approvals_validate_in_any_order() {
        let mut o = order();
        assert_eq!(o.apply(Validation::DetailsValidated), Transition::None);
        assert_eq!(o.state, OrderState::Pending);
        assert_eq!(
            o.apply(Validation::ConsumerValidated),
            Transition::Validated
        );
        assert_eq!(o.state, OrderState::Validated);
    }

    #[test]
    fn one_rejection_rejects_with_its_reason_and_later_answers_change_nothing() {
        let mut o = order();
        o.apply(Validation::ConsumerValidated);
        assert_eq!(
            o.apply(Validation::DetailsRejected(
                "menu item x not on the menu".into()
            )),
            Transition::Rejected("menu item x not on the menu".into())
        );
        assert_eq!(o.apply(Validation::DetailsValidated), Transition::None);
        assert_eq!(o.state, OrderState::Rejected);
        assert_eq!(
            o.rejection_reason.as_deref(),
            Some("menu item x not on the menu")
        );
    }

    #[test]
    fn deadline_rejects_a_pending_order_only() {
        let mut o = order();
        assert!(matches!(
            o.apply(Validation::DeadlinePassed),
            Transition::Rejected(_)
        ));
        let mut v = order();
        v.apply(Validation::ConsumerValidated);
        v.apply(Validation::DetailsValidated);
        assert_eq!(v.apply(Validation::DeadlinePassed), Transition::None);
        assert_eq!(v.state, OrderState::Validated);
    }

    #[test]
    fn cancel_is_allowed_while_pending_or_validated() {
        let mut o = order();
        assert!(o.cancel().is_ok());
        assert_eq!(o.cancel(), Err(CancelError(OrderState::Cancelled)));
        let mut r = order();
        r.apply(Validation::ConsumerRejected("no".into()));
        assert!(r.cancel().is_err());
    }

    #[test]
    fn price_uses_the_replica_menu() {
        let menu = vec![
            MenuItem {
                id: "a".into(),
                name: "A".into(),
                price_cents: 250,
            },
            MenuItem {
                id: "b".into(),
                name: "B".into(),
                price_cents: 1000,
            },
        ];
        let items = vec![
            LineItem {
                menu_item_id: "a".into(),
                quantity: 2,
            },
            LineItem {
                menu_item_id: "b".into(),
                quantity: 1,
            },
            LineItem {
                menu_item_id: "zz".into(),
                quantity: 9,
            },
        ];
        assert_eq!(price(&menu, &items), 1500);
    }
}
