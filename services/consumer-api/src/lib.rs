//! consumer-service's synchronous API, as a contract both sides compile against: the
//! gRPC `ConsumerService` generated from `proto/ftgo/consumer/v1` (server for
//! consumer-service, client for order-service) and [`GrpcConsumers`], the transport that
//! runs the lookup under the shared resilience stack (`resilient_client`).
//!
//! It lives apart from the services so that a caller links the API, not the service, and
//! apart from the shared crates so that no other process (the relay) links tonic.

mod transport;

pub use transport::GrpcConsumers;

/// The `ftgo.consumer.v1` package: `ConsumerService` and its messages.
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/ftgo.consumer.v1.rs"));
}
