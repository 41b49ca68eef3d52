//! What the load places: the kinds of order, how each must end, and in what proportion.

use std::collections::BTreeMap;
use std::fmt;

/// What an order asks for, which decides how it must end. Every way the system rejects
/// an order that order-service accepted has a kind: consumer-service's two verdicts and
/// restaurant-service's two about an existing restaurant. (An unknown restaurant is no
/// kind: order-service accepts it unpriced and rejects it only at its validation
/// deadline, 30 s by default, which a load run would wait out.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Known consumer within its limit, delivering restaurant, items on the menu.
    Valid,
    /// A consumer consumer-service does not know.
    UnknownConsumer,
    /// A consumer whose spending limit is below the total.
    OverLimit,
    /// An item the restaurant's menu does not have.
    OffMenu,
    /// A restaurant that does not deliver.
    NotDelivering,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Valid => "valid",
            Self::UnknownConsumer => "unknown consumer",
            Self::OverLimit => "over the consumer's limit",
            Self::OffMenu => "item not on the menu",
            Self::NotDelivering => "restaurant not delivering",
        })
    }
}

/// How an order must end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// VALIDATED.
    Validated,
    /// REJECTED with a reason containing this text.
    Rejected(String),
}

/// The kinds placed, in turn: order `n` of a run is of kind `n % len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix(Vec<Kind>);

impl Mix {
    /// Five valid orders to one of each rejection. Its length is odd so that, placed
    /// round-robin over two order-service instances, each kind goes to both.
    pub fn standard() -> Self {
        Self(vec![
            Kind::Valid,
            Kind::UnknownConsumer,
            Kind::Valid,
            Kind::OverLimit,
            Kind::Valid,
            Kind::OffMenu,
            Kind::Valid,
            Kind::NotDelivering,
            Kind::Valid,
        ])
    }

    /// Only valid orders (benchmarks measure the path to VALIDATED).
    pub fn valid_only() -> Self {
        Self(vec![Kind::Valid])
    }

    /// One order of `kind` first, then `valid` valid ones, repeated: dashboards with a
    /// few rejections among the orders.
    pub fn one_in(kind: Kind, valid: usize) -> Self {
        let mut kinds = vec![kind];
        kinds.extend(std::iter::repeat_n(Kind::Valid, valid));
        Self(kinds)
    }

    /// The kind of the run's `n`-th order.
    pub fn kind(&self, n: usize) -> Kind {
        self.0[n % self.0.len()]
    }
}

impl fmt::Display for Mix {
    /// `5 valid, 1 unknown consumer, ...` per turn of the mix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
        for kind in &self.0 {
            *counts.entry(*kind).or_default() += 1;
        }
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        write!(f, "{} in every {}", parts.join(", "), self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_mix_has_every_kind_and_repeats() {
        let mix = Mix::standard();
        for kind in [
            Kind::Valid,
            Kind::UnknownConsumer,
            Kind::OverLimit,
            Kind::OffMenu,
            Kind::NotDelivering,
        ] {
            assert!((0..9).any(|n| mix.kind(n) == kind), "{kind}");
        }
        assert_eq!(mix.kind(9), mix.kind(0));
        assert_eq!(
            mix.to_string(),
            "5 valid, 1 unknown consumer, 1 over the consumer's limit, 1 item not on the menu, \
             1 restaurant not delivering in every 9"
        );
        assert_eq!(
            Mix::one_in(Kind::OffMenu, 19).to_string(),
            "19 valid, 1 item not on the menu in every 20"
        );
    }
}
