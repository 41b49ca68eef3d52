//! Code generated from the `.proto` files under `services/platform/proto` (see
//! `build.rs`): messages, and gRPC clients and servers. Packages become nested modules:
//! `ftgo.messages.v1` is [`ftgo::messages::v1`], `ftgo.consumer.v1` is
//! [`ftgo::consumer::v1`].

/// The `ftgo` protobuf packages.
pub mod ftgo {
    /// Messages on Kafka channels.
    pub mod messages {
        /// Version 1 of the message schemas.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/ftgo.messages.v1.rs"));
        }
    }
    /// The `ftgo.consumer.*` packages.
    pub mod consumer {
        /// `ftgo.consumer.v1`: consumer-service's `ConsumerService`.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/ftgo.consumer.v1.rs"));
        }
    }
}
