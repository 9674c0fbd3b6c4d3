//! Compiles the example guests in `examples/` to wasm and copies each next to its source
//! (`examples/hello.wasm`, `examples/ticker.wasm`, ...), so that `cargo run -- run
//! examples/hello.wasm` works on a fresh clone and the example manifests can name
//! `./ticker.wasm`.

use skiff_guest_build::{build, examples};
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    for built in build(&examples(&root)) {
        let dest = root
            .join("examples")
            .join(format!("{}.wasm", built.guest.package));
        let fresh = std::fs::read(&built.path).expect("read built example");
        if std::fs::read(&dest).ok().as_deref() != Some(fresh.as_slice()) {
            std::fs::write(&dest, fresh).expect("copy example wasm into examples/");
        }
    }
}
