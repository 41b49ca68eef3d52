//! Every contract type in both formats: JSON through serde, Protobuf through the prost
//! types generated from `proto/ftgo/messages/v1` and the conversions below (the one place
//! that maps between the two).

use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::proto::ftgo::messages::v1 as pb;
use crate::{Error, Format, LineItem, MenuItem, Result, consumer, order, restaurant};

/// A message payload of the published language, encodable in every [`Format`].
pub trait Contract: Serialize + DeserializeOwned + Sized {
    /// Its generated Protobuf message.
    type Proto: Message + Default;

    /// The Protobuf form.
    fn to_proto(&self) -> Self::Proto;

    /// From the Protobuf form; fails on values the contract cannot hold (an id that is
    /// not 16 bytes), naming the field.
    fn from_proto(proto: Self::Proto) -> std::result::Result<Self, String>;

    /// The payload bytes in `format`.
    fn encode(&self, format: Format) -> Result<Vec<u8>> {
        match format {
            Format::Json => serde_json::to_vec(self).map_err(|source| Error::Json {
                message: std::any::type_name::<Self>(),
                source,
            }),
            Format::Protobuf => Ok(self.to_proto().encode_to_vec()),
        }
    }

    /// From payload bytes in `format`; the error says what is wrong and where.
    fn decode(format: Format, bytes: &[u8]) -> std::result::Result<Self, String> {
        match format {
            Format::Json => {
                let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
                serde_path_to_error::deserialize(deserializer)
                    .map_err(|e| format!("at `{}`: {}", e.path(), e.inner()))
            }
            Format::Protobuf => Self::Proto::decode(bytes)
                .map_err(|e| e.to_string())
                .and_then(Self::from_proto),
        }
    }
}

fn id(field: &str, bytes: &[u8]) -> std::result::Result<Uuid, String> {
    Uuid::from_slice(bytes).map_err(|_| format!("{field}: not a 16-byte UUID"))
}

fn id_bytes(id: Uuid) -> Vec<u8> {
    id.as_bytes().to_vec()
}

fn line_items_to_proto(items: &[LineItem]) -> Vec<pb::LineItem> {
    items
        .iter()
        .map(|i| pb::LineItem {
            menu_item_id: i.menu_item_id.clone(),
            quantity: i.quantity,
        })
        .collect()
}

fn line_items_from_proto(items: Vec<pb::LineItem>) -> Vec<LineItem> {
    items
        .into_iter()
        .map(|i| LineItem {
            menu_item_id: i.menu_item_id,
            quantity: i.quantity,
        })
        .collect()
}

fn menu_to_proto(menu: &[MenuItem]) -> Vec<pb::MenuItem> {
    menu.iter()
        .map(|i| pb::MenuItem {
            id: i.id.clone(),
            name: i.name.clone(),
            price_cents: i.price_cents,
        })
        .collect()
}

fn menu_from_proto(menu: Vec<pb::MenuItem>) -> Vec<MenuItem> {
    menu.into_iter()
        .map(|i| MenuItem {
            id: i.id,
            name: i.name,
            price_cents: i.price_cents,
        })
        .collect()
}

impl Contract for consumer::ValidateConsumerInfo {
    type Proto = pb::ValidateConsumerInfo;

    fn to_proto(&self) -> Self::Proto {
        pb::ValidateConsumerInfo {
            order_id: id_bytes(self.order_id),
            consumer_id: id_bytes(self.consumer_id),
            order_total_cents: self.order_total_cents,
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            order_id: id("order_id", &p.order_id)?,
            consumer_id: id("consumer_id", &p.consumer_id)?,
            order_total_cents: p.order_total_cents,
        })
    }
}

impl Contract for consumer::ConsumerValidation {
    type Proto = pb::ConsumerValidation;

    fn to_proto(&self) -> Self::Proto {
        pb::ConsumerValidation {
            order_id: id_bytes(self.order_id),
            consumer_id: id_bytes(self.consumer_id),
            reason: self.reason.clone(),
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            order_id: id("order_id", &p.order_id)?,
            consumer_id: id("consumer_id", &p.consumer_id)?,
            reason: p.reason,
        })
    }
}

impl Contract for restaurant::ValidateOrderDetails {
    type Proto = pb::ValidateOrderDetails;

    fn to_proto(&self) -> Self::Proto {
        pb::ValidateOrderDetails {
            order_id: id_bytes(self.order_id),
            restaurant_id: id_bytes(self.restaurant_id),
            line_items: line_items_to_proto(&self.line_items),
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            order_id: id("order_id", &p.order_id)?,
            restaurant_id: id("restaurant_id", &p.restaurant_id)?,
            line_items: line_items_from_proto(p.line_items),
        })
    }
}

impl Contract for restaurant::OrderDetailsValidation {
    type Proto = pb::OrderDetailsValidation;

    fn to_proto(&self) -> Self::Proto {
        pb::OrderDetailsValidation {
            order_id: id_bytes(self.order_id),
            restaurant_id: id_bytes(self.restaurant_id),
            reason: self.reason.clone(),
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            order_id: id("order_id", &p.order_id)?,
            restaurant_id: id("restaurant_id", &p.restaurant_id)?,
            reason: p.reason,
        })
    }
}

impl Contract for restaurant::RestaurantCreated {
    type Proto = pb::RestaurantCreated;

    fn to_proto(&self) -> Self::Proto {
        pb::RestaurantCreated {
            restaurant_id: id_bytes(self.restaurant_id),
            name: self.name.clone(),
            delivers: self.delivers,
            menu: menu_to_proto(&self.menu),
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            restaurant_id: id("restaurant_id", &p.restaurant_id)?,
            name: p.name,
            delivers: p.delivers,
            menu: menu_from_proto(p.menu),
        })
    }
}

impl Contract for restaurant::MenuRevised {
    type Proto = pb::MenuRevised;

    fn to_proto(&self) -> Self::Proto {
        pb::MenuRevised {
            restaurant_id: id_bytes(self.restaurant_id),
            menu: menu_to_proto(&self.menu),
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            restaurant_id: id("restaurant_id", &p.restaurant_id)?,
            menu: menu_from_proto(p.menu),
        })
    }
}

impl Contract for order::OrderCreated {
    type Proto = pb::OrderCreated;

    fn to_proto(&self) -> Self::Proto {
        pb::OrderCreated {
            order_id: id_bytes(self.order_id),
            consumer_id: id_bytes(self.consumer_id),
            restaurant_id: id_bytes(self.restaurant_id),
            line_items: line_items_to_proto(&self.line_items),
            total_cents: self.total_cents,
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            order_id: id("order_id", &p.order_id)?,
            consumer_id: id("consumer_id", &p.consumer_id)?,
            restaurant_id: id("restaurant_id", &p.restaurant_id)?,
            line_items: line_items_from_proto(p.line_items),
            total_cents: p.total_cents,
        })
    }
}

impl Contract for order::OrderStateChanged {
    type Proto = pb::OrderStateChanged;

    fn to_proto(&self) -> Self::Proto {
        pb::OrderStateChanged {
            order_id: id_bytes(self.order_id),
            reason: self.reason.clone(),
        }
    }

    fn from_proto(p: Self::Proto) -> std::result::Result<Self, String> {
        Ok(Self {
            order_id: id("order_id", &p.order_id)?,
            reason: p.reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn round_trips<T: Contract + PartialEq + std::fmt::Debug>(value: &T) {
        for format in Format::ALL {
            let bytes = value.encode(format).unwrap();
            assert_eq!(&T::decode(format, &bytes).unwrap(), value, "{format:?}");
        }
    }

    fn uuid() -> impl Strategy<Value = Uuid> {
        any::<u128>().prop_map(Uuid::from_u128)
    }

    fn line_items() -> impl Strategy<Value = Vec<LineItem>> {
        proptest::collection::vec(
            (any::<String>(), any::<u32>()).prop_map(|(menu_item_id, quantity)| LineItem {
                menu_item_id,
                quantity,
            }),
            0..4,
        )
    }

    fn menu() -> impl Strategy<Value = Vec<MenuItem>> {
        proptest::collection::vec(
            (any::<String>(), any::<String>(), any::<i64>()).prop_map(|(id, name, price_cents)| {
                MenuItem {
                    id,
                    name,
                    price_cents,
                }
            }),
            0..4,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Every contract type survives both formats unchanged, whatever its values
        /// (empty lists, absent and empty reasons, any text, extreme numbers).
        #[test]
        fn every_contract_round_trips_through_both_formats(
            ids in (uuid(), uuid(), uuid()),
            cents in any::<i64>(),
            text in any::<String>(),
            reason in proptest::option::of(any::<String>()),
            delivers in any::<bool>(),
            items in line_items(),
            menu in menu(),
        ) {
            let (a, b, c) = ids;
            round_trips(&consumer::ValidateConsumerInfo { order_id: a, consumer_id: b, order_total_cents: cents });
            round_trips(&consumer::ConsumerValidation { order_id: a, consumer_id: b, reason: reason.clone() });
            round_trips(&restaurant::ValidateOrderDetails { order_id: a, restaurant_id: b, line_items: items.clone() });
            round_trips(&restaurant::OrderDetailsValidation { order_id: a, restaurant_id: b, reason: reason.clone() });
            round_trips(&restaurant::RestaurantCreated { restaurant_id: a, name: text, delivers, menu: menu.clone() });
            round_trips(&restaurant::MenuRevised { restaurant_id: a, menu });
            round_trips(&order::OrderCreated { order_id: a, consumer_id: b, restaurant_id: c, line_items: items, total_cents: cents });
            round_trips(&order::OrderStateChanged { order_id: a, reason });
        }
    }

    #[test]
    fn a_protobuf_id_of_the_wrong_length_is_refused_naming_the_field() {
        let bytes = pb::OrderStateChanged {
            order_id: vec![1, 2, 3],
            reason: None,
        }
        .encode_to_vec();
        let error = order::OrderStateChanged::decode(Format::Protobuf, &bytes).unwrap_err();
        assert!(error.contains("order_id"), "{error}");
    }
}
