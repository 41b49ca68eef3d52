//! Compiles every `.proto` file under `proto/` (sorted, so the output does not depend on
//! the directory's order) with protox, a protobuf compiler in pure Rust: no `protoc` is
//! needed to build. tonic-prost-build then generates the messages and the gRPC client and
//! server of `ConsumerService` into `OUT_DIR`; `src/lib.rs` includes them.

use std::path::{Path, PathBuf};

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new("proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    proto_files(root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let descriptors = protox::compile(&files, [root])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
