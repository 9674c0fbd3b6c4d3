//! Compiles guest workspaces (Rust programs for `wasm32-wasip1` / `wasm32-wasip2`) from a
//! build script, the way wasmtime's `test-programs` does.
//!
//! A build script calls [`build`] with a [`GuestWorkspace`]; it runs a nested
//! `cargo build --release` for each target into a target directory of its own (so it
//! never contends with the outer build's lock), tells Cargo to rerun when guest sources
//! change, and returns the path of every artifact.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A WASI compilation target for guests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `wasm32-wasip1`: core modules importing `wasi_snapshot_preview1`.
    P1,
    /// `wasm32-wasip2`: components.
    P2,
}

impl Target {
    /// The Rust target triple.
    pub fn triple(self) -> &'static str {
        match self {
            Target::P1 => "wasm32-wasip1",
            Target::P2 => "wasm32-wasip2",
        }
    }
}

/// One guest artifact to build: a binary or a `cdylib` of some package, for one target.
#[derive(Clone, Debug)]
pub struct Guest {
    /// Cargo package name.
    pub package: &'static str,
    /// Artifact stem: the binary name, or the library name (`-` becomes `_`).
    pub artifact: &'static str,
    /// Target to build for.
    pub target: Target,
}

/// A Cargo workspace of guest programs and what to build from it.
#[derive(Clone, Debug)]
pub struct GuestWorkspace {
    /// Directory holding the workspace's `Cargo.toml`.
    pub dir: PathBuf,
    /// Artifacts to produce.
    pub guests: Vec<Guest>,
}

/// A built artifact.
#[derive(Clone, Debug)]
pub struct Built {
    /// What was asked for.
    pub guest: Guest,
    /// Absolute path of the `.wasm` file.
    pub path: PathBuf,
}

/// Builds every guest of `workspace` and returns their artifacts.
///
/// Panics (failing the build script, which is how build scripts report errors) when the
/// nested build fails; Cargo shows its output.
pub fn build(workspace: &GuestWorkspace) -> Vec<Built> {
    println!(
        "cargo:rerun-if-changed={}",
        workspace.dir.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        workspace.dir.join("Cargo.lock").display()
    );
    for dir in source_dirs(&workspace.dir) {
        println!("cargo:rerun-if-changed={}", dir.display());
    }

    let target_dir = guest_target_dir();
    for target in [Target::P1, Target::P2] {
        let packages: Vec<&str> = workspace
            .guests
            .iter()
            .filter(|g| g.target == target)
            .map(|g| g.package)
            .collect();
        if packages.is_empty() {
            continue;
        }
        let mut cmd = cargo();
        cmd.arg("build")
            .arg("--release")
            .arg("--manifest-path")
            .arg(workspace.dir.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .arg("--target")
            .arg(target.triple());
        for package in dedup(packages) {
            cmd.arg("-p").arg(package);
        }
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("failed to run cargo for guests: {e}"));
        assert!(
            status.success(),
            "building guests in {} for {} failed (is the target installed? \
             `rustup target add {}`)",
            workspace.dir.display(),
            target.triple(),
            target.triple()
        );
    }

    workspace
        .guests
        .iter()
        .map(|guest| {
            let path = target_dir
                .join(guest.target.triple())
                .join("release")
                .join(format!("{}.wasm", guest.artifact.replace('-', "_")));
            assert!(path.exists(), "guest artifact missing: {}", path.display());
            Built {
                guest: guest.clone(),
                path,
            }
        })
        .collect()
}

/// A `cargo` command with the outer build's configuration removed, so that flags meant
/// for the host build (rustflags, a host target, a wrapper) do not leak into guests.
fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key.starts_with("CARGO_ENCODED_RUSTFLAGS")
            || key == "RUSTFLAGS"
            || key == "CARGO_TARGET_DIR"
            || key == "CARGO_BUILD_TARGET"
            || key == "RUSTC_WORKSPACE_WRAPPER"
            || key == "CARGO_PRIMARY_PACKAGE"
            || key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_CFG_")
        {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `<outer target dir>/wasm-guests`, found from `OUT_DIR`
/// (`<target>/[<triple>/]<profile>/build/<pkg>-<hash>/out`).
fn guest_target_dir() -> PathBuf {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("build scripts have OUT_DIR"));
    let profile_dir = out_dir
        .ancestors()
        .nth(3)
        .expect("OUT_DIR is <target>/<profile>/build/<pkg>/out");
    profile_dir
        .parent()
        .unwrap_or(profile_dir)
        .join("wasm-guests")
}

/// Every `src` directory under a workspace (one level of member crates, plus the root).
fn source_dirs(workspace: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![workspace.join("src")];
    if let Ok(entries) = std::fs::read_dir(workspace) {
        for entry in entries.flatten() {
            let src = entry.path().join("src");
            if src.is_dir() {
                dirs.push(src);
                dirs.push(entry.path().join("Cargo.toml"));
            }
        }
    }
    dirs.retain(|d| d.exists());
    dirs
}

fn dedup(mut items: Vec<&str>) -> Vec<&str> {
    items.sort_unstable();
    items.dedup();
    items
}

/// The repository's example guests (`examples/`): the p1 commands `hello`, `ticker`,
/// `primes` and `config-reader` (the guests of the example manifests), and the p2
/// `wasi:http` components `http-hello`, `backend` and `frontend`.
pub fn examples(repo_root: &Path) -> GuestWorkspace {
    GuestWorkspace {
        dir: repo_root.join("examples"),
        guests: vec![
            Guest {
                package: "hello",
                artifact: "hello",
                target: Target::P1,
            },
            Guest {
                package: "ticker",
                artifact: "ticker",
                target: Target::P1,
            },
            Guest {
                package: "primes",
                artifact: "primes",
                target: Target::P1,
            },
            Guest {
                package: "config-reader",
                artifact: "config_reader",
                target: Target::P1,
            },
            Guest {
                package: "http-hello",
                artifact: "http_hello",
                target: Target::P2,
            },
            Guest {
                package: "http-primes",
                artifact: "http_primes",
                target: Target::P2,
            },
            Guest {
                package: "backend",
                artifact: "backend",
                target: Target::P2,
            },
            Guest {
                package: "frontend",
                artifact: "frontend",
                target: Target::P2,
            },
        ],
    }
}
