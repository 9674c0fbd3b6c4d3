//! [`ArtifactCache`]: precompiled modules on disk, keyed by the module's digest and the
//! engine's compatibility hash, so that a second process (or a restarted agent) loads
//! machine code without compiling.
//!
//! Layout: `<dir>/<engine hash>/<module sha256>.cwasm`. Files are written to a temporary
//! name and renamed into place, so a reader never sees a partial artifact.

use crate::error::{Error, Result};
use crate::module::Digest;
use sha2::{Digest as _, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Precompiled artifacts for one engine configuration.
pub(crate) struct ArtifactCache {
    dir: PathBuf,
}

impl ArtifactCache {
    /// The cache for `engine` under `root`.
    pub(crate) fn new(root: &Path, engine: &wasmtime::Engine) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = hex::encode(&hasher.0.finalize()[..16]);
        Self {
            dir: root.join(engine_hash),
        }
    }

    /// Path of the artifact for a module.
    pub(crate) fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(format!("{}.cwasm", digest.hex()))
    }

    /// Stores an artifact atomically and returns its path.
    pub(crate) fn store(&self, digest: &Digest, artifact: &[u8]) -> Result<PathBuf> {
        let cache_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Cache { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(cache_err(&self.dir))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(cache_err(&self.dir))?;
        tmp.write_all(artifact).map_err(cache_err(tmp.path()))?;
        let path = self.path(digest);
        tmp.persist(&path).map_err(|e| Error::Cache {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(path)
    }
}

/// Feeds `Hash` output into sha256, for a hash that is stable across processes.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().expect("sha256 is 32 bytes"))
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
