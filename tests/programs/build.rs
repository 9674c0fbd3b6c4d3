//! Compiles the example guests and the test guests to wasm and writes `programs.rs`, a
//! constant with the path of each artifact, for the crate to `include!`.

use skiff_guest_build::{Guest, GuestWorkspace, Target, build, examples};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Binaries of the `guests` package, each built for both targets.
const COMMANDS: &[&str] = &[
    "noop",
    "exit_code",
    "trap",
    "spin",
    "sleep",
    "memory_bomb",
    "read_file",
    "flood",
    "unknown_import",
    "cat",
    "show",
    "hold",
    "out_of_bounds",
];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let repo_root = manifest_dir
        .parent()
        .and_then(|p| p.parent())
        .expect("tests/programs sits two levels below the repository root");

    let mut guests = Vec::new();
    for &command in COMMANDS {
        for target in [Target::P1, Target::P2] {
            guests.push(Guest {
                package: "guests",
                artifact: command,
                target,
            });
        }
    }
    for target in [Target::P1, Target::P2] {
        guests.push(Guest {
            package: "reactor",
            artifact: "reactor",
            target,
        });
    }
    guests.push(Guest {
        package: "http-guest",
        artifact: "http_guest",
        target: Target::P2,
    });
    let tests = GuestWorkspace {
        dir: manifest_dir.join("guests"),
        guests,
    };

    let mut out = String::new();
    for built in build(&examples(repo_root)) {
        let name = built.guest.artifact.to_uppercase();
        writeln!(out, "/// The `{}` example.", built.guest.package).expect("write to String");
        writeln!(
            out,
            "pub const {name}: &str = {:?};",
            built.path.display().to_string()
        )
        .expect("write to String");
    }
    for built in build(&tests) {
        let prefix = match built.guest.target {
            Target::P1 => "P1",
            Target::P2 => "P2",
        };
        let name = format!("{prefix}_{}", built.guest.artifact.to_uppercase());
        writeln!(
            out,
            "/// `{}` built for {}.",
            built.guest.artifact,
            built.guest.target.triple()
        )
        .expect("write to String");
        writeln!(
            out,
            "pub const {name}: &str = {:?};",
            built.path.display().to_string()
        )
        .expect("write to String");
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("set by cargo"));
    std::fs::write(out_dir.join("programs.rs"), out).expect("write programs.rs");
}
