//! The Protobuf form of every message, from `proto/` (messages only, no gRPC);
//! `src/proto.rs` includes it.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    proto_build::compile(proto_build::Grpc::None)
}
