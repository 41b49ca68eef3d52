//! Compiles every `.proto` file under a crate's `proto/` (sorted, so the output does not
//! depend on the directory's order) with protox, a protobuf compiler in pure Rust: no
//! `protoc` is needed to build. tonic-prost-build then generates the Rust types, and the
//! gRPC client and server when asked, into `OUT_DIR`.
//!
//! Used from the `build.rs` of the crates that own `.proto` files (`contracts`: messages
//! only; `consumer-api`: a gRPC service), so the build step is written once.

#![allow(
    clippy::print_stdout,
    reason = "a build script talks to cargo through stdout (`cargo:rerun-if-changed`)"
)]

use std::path::{Path, PathBuf};

/// Whether to generate gRPC code for the services the files declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grpc {
    /// Messages only.
    None,
    /// Messages, and a client and a server for each service.
    ClientAndServer,
}

/// Compiles `proto/` of the crate being built into `OUT_DIR` (see the crate docs).
pub fn compile(grpc: Grpc) -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    proto_files(root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [root])?;
    let services = grpc == Grpc::ClientAndServer;
    tonic_prost_build::configure()
        .build_server(services)
        .build_client(services)
        .compile_fds(descriptors)?;
    Ok(())
}

fn proto_files(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            proto_files(&path, found)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            found.push(path);
        }
    }
    Ok(())
}
