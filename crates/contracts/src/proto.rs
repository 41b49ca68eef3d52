//! Code generated from the `.proto` files under `crates/contracts/proto` (see `build.rs`):
//! the Protobuf form of every message. `ftgo.messages.v1` is [`ftgo::messages::v1`].

/// The `ftgo` protobuf packages.
pub mod ftgo {
    /// Messages on Kafka channels.
    pub mod messages {
        /// Version 1 of the message schemas.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/ftgo.messages.v1.rs"));
        }
    }
}
