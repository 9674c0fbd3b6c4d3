//! [`Module`]: a loaded, pre-instantiated wasm binary, identified by its sha256
//! [`Digest`], of one [`ModuleKind`]; and the header inspection that tells kinds apart.

use crate::error::{Error, Result};
use crate::store_data::{HttpState, P1State, P2State};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::Arc;
use wasmtime_wasi::p2::bindings::CommandPre;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// The sha256 of a wasm binary's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lowercase hex, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Digest {
    /// `sha256:<hex>`, the OCI form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a wasm binary is, as far as running it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModuleKind {
    /// A core module importing WASI preview 1 and exporting `_start`.
    P1Command,
    /// A component exporting `wasi:cli/run`.
    P2Command,
    /// A component exporting `wasi:http/incoming-handler` (the `wasi:http/proxy` world).
    HttpProxy,
}

impl ModuleKind {
    /// Whether instances run to completion (as opposed to serving requests).
    pub fn is_command(self) -> bool {
        matches!(self, ModuleKind::P1Command | ModuleKind::P2Command)
    }
}

impl fmt::Display for ModuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModuleKind::P1Command => "WASI preview 1 command module",
            ModuleKind::P2Command => "WASI preview 2 command component",
            ModuleKind::HttpProxy => "wasi:http/proxy component",
        })
    }
}

/// The binary format, read from the 8-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// A core module (version 1).
    Core,
    /// A component (version 0xd, layer 1).
    Component,
}

const MAGIC: &[u8; 4] = b"\0asm";
const CORE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];
const COMPONENT_VERSION: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];

/// Reads the header of a wasm binary.
pub(crate) fn inspect(bytes: &[u8]) -> Result<Format> {
    if bytes.len() >= 4 && &bytes[..4] != MAGIC {
        return Err(Error::NotWasm);
    }
    if bytes.len() < 8 {
        return Err(Error::Truncated { len: bytes.len() });
    }
    let version: [u8; 4] = bytes[4..8].try_into().expect("slice of length 4");
    match version {
        CORE_VERSION => Ok(Format::Core),
        COMPONENT_VERSION => Ok(Format::Component),
        other => Err(Error::UnsupportedVersion {
            version: u32::from_le_bytes(other),
        }),
    }
}

/// The pre-instantiated form of a module: imports resolved, ready to instantiate.
#[derive(Clone)]
pub(crate) enum Template {
    P1(wasmtime::InstancePre<P1State>),
    P2(CommandPre<P2State>),
    Http(ProxyPre<HttpState>),
}

/// Where a module's compiled code came from when it was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadSource {
    /// Already loaded in this process.
    Memory,
    /// A precompiled artifact from the on-disk cache: no compilation.
    DiskCache,
    /// Compiled from the wasm bytes (and stored in the cache, if one is configured).
    Compiled,
}

/// A loaded module: cheap to clone, shared by every instance made from it.
#[derive(Clone)]
pub struct Module {
    pub(crate) inner: Arc<ModuleInner>,
    source: LoadSource,
}

pub(crate) struct ModuleInner {
    pub(crate) digest: Digest,
    pub(crate) kind: ModuleKind,
    pub(crate) template: Template,
}

impl Module {
    pub(crate) fn new(inner: Arc<ModuleInner>, source: LoadSource) -> Self {
        Self { inner, source }
    }

    /// The sha256 of the binary.
    pub fn digest(&self) -> Digest {
        self.inner.digest
    }

    /// What the binary is.
    pub fn kind(&self) -> ModuleKind {
        self.inner.kind
    }

    /// Where this load found its compiled code.
    pub fn source(&self) -> LoadSource {
        self.source
    }
}

impl fmt::Debug for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Module")
            .field("digest", &self.inner.digest)
            .field("kind", &self.inner.kind)
            .field("source", &self.source)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_tells_formats_apart() {
        assert_eq!(inspect(b"\0asm\x01\0\0\0rest").expect("core"), Format::Core);
        assert_eq!(
            inspect(b"\0asm\x0d\0\x01\0").expect("component"),
            Format::Component
        );
        assert!(matches!(inspect(b"hello world"), Err(Error::NotWasm)));
        assert!(matches!(inspect(b"\0as"), Err(Error::Truncated { len: 3 })));
        assert!(matches!(
            inspect(b"\0asm\x02\0\0\0"),
            Err(Error::UnsupportedVersion { version: 2 })
        ));
    }

    #[test]
    fn digest_is_sha256_in_oci_form() {
        assert_eq!(
            Digest::of(b"").to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
