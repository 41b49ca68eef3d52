//! Rust types generated from the `.proto` files under `services/platform/proto`
//! (`build.rs`): messages, and gRPC clients and servers. Packages map to modules, so
//! `ftgo.consumer.v1` is [`ftgo::consumer::v1`].

#![allow(
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

/// The `ftgo.*` packages.
pub mod ftgo {
    /// The `ftgo.consumer.*` packages.
    pub mod consumer {
        /// `ftgo.consumer.v1`: consumer-service's `ConsumerService`.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/ftgo.consumer.v1.rs"));
        }
    }
}
