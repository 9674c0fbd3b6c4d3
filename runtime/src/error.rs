//! The runtime's error type: everything that can go wrong loading a module or starting an
//! instance. What happens to a *running* instance is an [`Outcome`](crate::Outcome), not
//! an error.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a module could not be loaded or an instance could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The module file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// Fewer bytes than a wasm header.
    #[error("truncated: {len} bytes is too short to be a WebAssembly binary")]
    Truncated {
        /// Length of the input.
        len: usize,
    },
    /// The input does not start with the wasm magic number.
    #[error("not a WebAssembly binary (bad magic number)")]
    NotWasm,
    /// A wasm binary of a version or layer this runtime does not know.
    #[error("unsupported WebAssembly binary version {version:#x}")]
    UnsupportedVersion {
        /// The version/layer word of the header.
        version: u32,
    },
    /// The binary failed validation or compilation.
    #[error("invalid WebAssembly: {0}")]
    Invalid(String),
    /// The binary's imports cannot be satisfied (an unknown import, a wrong signature).
    #[error("cannot link: {0}")]
    Link(String),
    /// A core module that is not a WASI preview 1 command.
    #[error("unsupported module: {0}")]
    UnsupportedModule(String),
    /// A component whose exports match no supported world.
    #[error(
        "unsupported component world: exports [{}], expected `wasi:cli/run` (a command) \
         or `wasi:http/incoming-handler` (an HTTP proxy)",
        exports.join(", ")
    )]
    UnsupportedWorld {
        /// The component's exports.
        exports: Vec<String>,
    },
    /// The operation needs another kind of module (e.g. serving HTTP with a command).
    #[error("{module} is a {actual}, not a {expected}")]
    WrongKind {
        /// Module digest, for the message.
        module: String,
        /// What the module is.
        actual: crate::ModuleKind,
        /// What the operation needs.
        expected: &'static str,
    },
    /// The precompiled-module cache could not be written or read.
    #[error("module cache at {}: {source}", path.display())]
    Cache {
        /// File or directory involved.
        path: PathBuf,
        /// The I/O failure.
        source: std::io::Error,
    },
    /// The engine could not be created with the given configuration.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// The instance pool asked for more address space than the process can reserve.
    #[error(
        "cannot reserve address space for {requested} instances; this machine can hold at most {max}"
    )]
    TooManyInstances {
        /// The instances asked for.
        requested: u32,
        /// The most a pool can be made for, found by trying.
        max: u32,
    },
    /// A directory to preopen could not be opened.
    #[error("cannot preopen {}: {reason}", host.display())]
    Preopen {
        /// Host directory.
        host: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A limit asks for more than the engine's instance pool allows.
    #[error("memory limit of {requested} bytes exceeds the per-instance maximum of {max} bytes")]
    MemoryLimitTooLarge {
        /// The requested limit.
        requested: u64,
        /// The pool's per-instance maximum.
        max: u64,
    },
}

/// Renders a wasmtime error and its causes on one line.
pub(crate) fn one_line(error: &wasmtime::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.is_empty() {
            if text.contains(&cause) {
                continue;
            }
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text.replace('\n', " ")
}
