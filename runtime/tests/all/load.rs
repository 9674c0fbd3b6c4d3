//! Loading: kinds told apart by inspection, digests, and clear errors for bad input.

use crate::{load, runtime};
use skiff_runtime::{Digest, Error, ModuleKind};
use skiff_test_programs as programs;

#[test]
fn kinds_are_told_apart() {
    let rt = runtime();
    assert_eq!(load(&rt, programs::HELLO).kind(), ModuleKind::P1Command);
    assert_eq!(load(&rt, programs::P2_NOOP).kind(), ModuleKind::P2Command);
    assert_eq!(
        load(&rt, programs::HTTP_HELLO).kind(),
        ModuleKind::HttpProxy
    );
}

#[test]
fn digest_is_sha256_of_the_bytes() {
    let rt = runtime();
    let bytes = programs::read(programs::HELLO);
    assert_eq!(load(&rt, programs::HELLO).digest(), Digest::of(&bytes));
    assert!(Digest::of(&bytes).to_string().starts_with("sha256:"));
}

#[test]
fn not_wasm_is_refused() {
    let err = runtime()
        .load(b"#!/bin/sh\necho hi\n")
        .expect_err("not wasm");
    assert!(matches!(err, Error::NotWasm), "{err}");
    assert_eq!(
        err.to_string(),
        "not a WebAssembly binary (bad magic number)"
    );
}

#[test]
fn truncated_binaries_are_refused() {
    let bytes = programs::read(programs::HELLO);
    let rt = runtime();
    let err = rt.load(&bytes[..6]).expect_err("truncated header");
    assert!(matches!(err, Error::Truncated { len: 6 }), "{err}");
    let err = rt
        .load(&bytes[..bytes.len() / 2])
        .expect_err("truncated body");
    assert!(matches!(err, Error::Invalid(_)), "{err}");
    assert!(err.to_string().contains("unexpected end"), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn unknown_import_is_named() {
    let err = runtime()
        .load_file(programs::P1_UNKNOWN_IMPORT)
        .expect_err("cannot link");
    assert!(matches!(err, Error::Link(_)), "{err}");
    assert!(err.to_string().contains("skiff_test::mystery"), "{err}");
}

#[test]
fn unsupported_world_is_refused() {
    let err = runtime()
        .load_file(programs::P2_REACTOR)
        .expect_err("no world");
    assert!(matches!(err, Error::UnsupportedWorld { .. }), "{err}");
    assert!(err.to_string().contains("wasi:cli/run"), "{err}");
}

#[test]
fn core_module_without_start_is_refused() {
    let err = runtime()
        .load_file(programs::P1_REACTOR)
        .expect_err("no _start");
    assert!(matches!(err, Error::UnsupportedModule(_)), "{err}");
    assert!(err.to_string().contains("_start"), "{err}");
}

#[test]
fn missing_file_is_named() {
    let err = runtime()
        .load_file("/no/such/module.wasm")
        .expect_err("missing");
    assert!(matches!(err, Error::Read { .. }), "{err}");
    assert!(err.to_string().contains("/no/such/module.wasm"), "{err}");
}

#[tokio::test]
async fn serving_http_with_a_command_is_refused() {
    let rt = runtime();
    let module = load(&rt, programs::HELLO);
    let err = rt
        .http_handler(&module, Default::default())
        .err()
        .expect("a command cannot serve HTTP");
    assert!(matches!(err, Error::WrongKind { .. }), "{err}");
}
