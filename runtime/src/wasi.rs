//! What a guest is granted, in WASI terms, shared by commands and HTTP handlers:
//! [`Output`] (where stdout and stderr go), [`Preopen`] (a host directory at a guest
//! path) and [`add_preopens`], which grants preopens on a WASI context being built.

use crate::error::{Error, Result, one_line};
use crate::log::ContainerLog;
use std::path::PathBuf;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// Where a guest's stdout and stderr go.
#[derive(Clone, Default)]
pub enum Output {
    /// Discarded.
    #[default]
    Discard,
    /// Passed through to this process's stdout and stderr.
    Inherit,
    /// Appended, as timestamped lines, to a container log.
    Log(ContainerLog),
}

/// A host directory the guest may see, at a guest path.
#[derive(Clone, Debug)]
pub struct Preopen {
    /// Directory on the host.
    pub host: PathBuf,
    /// Where the guest sees it (e.g. `/data`).
    pub guest: String,
    /// Whether the guest may only read.
    pub read_only: bool,
}

/// Grants the guest `preopens`; fails on the first directory that cannot be opened.
pub(crate) fn add_preopens(builder: &mut WasiCtxBuilder, preopens: &[Preopen]) -> Result<()> {
    for dir in preopens {
        let perms = if dir.read_only {
            FsPerms::ReadOnly
        } else {
            FsPerms::ReadWrite
        };
        builder
            .preopened_dir(&dir.host, &dir.guest, perms)
            .map_err(|e| Error::Preopen {
                host: dir.host.clone(),
                reason: one_line(&e),
            })?;
    }
    Ok(())
}
