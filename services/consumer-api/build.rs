//! consumer-service's gRPC API from `proto/`: its messages, client and server;
//! `src/lib.rs` includes them.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    proto_build::compile(proto_build::Grpc::ClientAndServer)
}
