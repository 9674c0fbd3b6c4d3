//! `skiff-runtime`: everything Skiff does with wasmtime. It knows nothing of Kubernetes.
//!
//! - [`Runtime`] — loads modules: the linkers, the precompiled-artifact cache (`artifacts`)
//!   and one pre-instantiated template per module digest, over the process's one engine
//!   (`engine`: pooling allocator, copy-on-write memory images, epoch `ticker`), sized by
//!   [`RuntimeConfig`].
//! - [`Module`] — a loaded binary: its [`Digest`] and [`ModuleKind`] (WASI preview 1
//!   command, preview 2 command, or `wasi:http/proxy` component).
//! - [`CommandSpec`] → [`Instance`] → [`Outcome`] — running a command with arguments,
//!   environment, preopened directories, captured output and [`Limits`], stoppable
//!   through a [`StopHandle`], its CPU time and memory counted in a [`Usage`] (`usage`).
//!   What a guest is granted ([`Output`], [`Preopen`]) is built in `wasi`, what its store
//!   holds in `store_data`, its limits enforced by `guard`.
//! - [`ContainerLog`] — bounded, rotated, followable, timestamped output.
//! - [`HttpHandler`] — serving requests with a fresh instance each; [`serve`] runs it
//!   on a socket.

mod artifacts;
mod command;
mod config;
mod engine;
mod error;
mod guard;
pub mod http;
mod limits;
pub mod log;
mod module;
mod outcome;
mod runtime;
mod stop;
mod store_data;
mod ticker;
mod usage;
mod wasi;

pub use command::{CommandSpec, Instance};
pub use config::{
    DEFAULT_EPOCH_TICK, DEFAULT_MAX_INSTANCES, DEFAULT_MAX_MEMORY_PER_INSTANCE, MemoryLayout,
    RuntimeConfig, default_cache_dir,
};
pub use error::{Error, Result};
pub use guard::CPU_PERIOD;
pub use http::handler::{Admission, HttpConfig, HttpHandler, Refusal};
pub use http::serve::serve;
pub use limits::Limits;
pub use log::{ContainerLog, LogConfig, LogLine, LogStream};
pub use module::{Digest, LoadSource, Module, ModuleKind};
pub use outcome::{Outcome, TrapKind};
pub use runtime::Runtime;
pub use stop::StopHandle;
pub use usage::Usage;
pub use wasi::{Output, Preopen};
