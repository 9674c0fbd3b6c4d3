//! Paths to guest wasm programs compiled from source by this crate's build script: the
//! examples (`HELLO`, `HTTP_HELLO`) and the test guests in `guests/src/bin`, each for
//! preview 1 (`P1_*`, core modules) and preview 2 (`P2_*`, components).
//!
//! Tests and benchmarks read the files at these paths; nothing here is a committed binary.

include!(concat!(env!("OUT_DIR"), "/programs.rs"));

/// Reads a guest program's bytes; panics with the path if the file is missing.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read guest {path}: {e}"))
}
