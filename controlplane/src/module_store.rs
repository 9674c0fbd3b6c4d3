//! [`ModuleStore`]: the control plane's content-addressed store of wasm modules, which
//! `skiff apply` uploads a manifest's local `./app.wasm` images to and agents pull them from
//! (as `skiff://modules/<file-name>@sha256:<hex>`).
//!
//! Blobs live at `DIR/sha256/<hex>`, named by the sha256 of their bytes. [`ModuleStore::put`]
//! verifies a body against the digest it is to be stored under, refuses anything that is not
//! wasm or is larger than the cap, and writes it durably (temporary file, fsync, rename,
//! fsync of the directory), so a blob that exists is always complete and correct.
//! [`Digest`] parses `sha256:<hex>` names; [`Error`] says what was refused and why.

use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Largest module accepted: 256 MiB. Real wasm applications are a few MiB, rarely tens;
/// the cap keeps one careless upload from filling the disk or the server's memory (bodies
/// are read whole before they are verified).
pub const DEFAULT_MAX_MODULE_BYTES: u64 = 256 * 1024 * 1024;

/// The first bytes of every wasm module and component.
pub const WASM_MAGIC: &[u8] = b"\0asm";

/// The prefix of every digest this store names blobs by.
const ALGORITHM: &str = "sha256:";

/// Why a module was refused or could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The name is not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid module digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    InvalidDigest(String),
    /// The body does not hash to the digest it was sent under.
    #[error("module content digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest the module was sent under.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// The body does not start with the wasm magic `\0asm`.
    #[error("the module is not a WebAssembly binary (it does not start with \\0asm)")]
    NotWasm,
    /// The body is larger than the store accepts.
    #[error("the module is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// Its size (or announced size).
        size: u64,
        /// The store's cap.
        limit: u64,
    },
    /// The store's directory could not be read or written.
    #[error("module store {}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Result alias for the module store.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A parsed `sha256:<hex>` digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex digits>`.
    pub fn parse(text: &str) -> Result<Self> {
        let hex = text
            .strip_prefix(ALGORITHM)
            .filter(|hex| {
                hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
            .ok_or_else(|| Error::InvalidDigest(text.to_owned()))?;
        Ok(Self {
            hex: hex.to_owned(),
        })
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            hex: hex::encode(Sha256::digest(bytes)),
        }
    }

    /// The 64 hex digits, without the algorithm.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{ALGORITHM}{}", self.hex)
    }
}

/// What [`ModuleStore::put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Put {
    /// The module was new and is now stored.
    Created,
    /// The store already had it; nothing was written.
    Present,
}

/// Wasm modules on disk, by content digest. Methods do blocking file I/O: call them from
/// `spawn_blocking` in async code.
#[derive(Debug)]
pub struct ModuleStore {
    /// `DIR/sha256`.
    blobs: PathBuf,
    max_bytes: u64,
}

impl ModuleStore {
    /// Opens (creating if missing) the store in `dir`, with the default size cap.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let blobs = dir.as_ref().join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|source| Error::Io {
            path: blobs.clone(),
            source,
        })?;
        Ok(Self {
            blobs,
            max_bytes: DEFAULT_MAX_MODULE_BYTES,
        })
    }

    /// Sets the largest module accepted, in bytes.
    pub fn with_max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// The largest module accepted, in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// Stores `bytes` under `digest` after checking that they are wasm, within the cap, and
    /// hash to `digest`. Storing a module that is already present writes nothing.
    pub fn put(&self, digest: &Digest, bytes: &[u8]) -> Result<Put> {
        let size = bytes.len() as u64;
        if size > self.max_bytes {
            return Err(Error::TooLarge {
                size,
                limit: self.max_bytes,
            });
        }
        if !bytes.starts_with(WASM_MAGIC) {
            return Err(Error::NotWasm);
        }
        let actual = Digest::of(bytes);
        if &actual != digest {
            return Err(Error::DigestMismatch {
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        let path = self.path(digest);
        if path.is_file() {
            return Ok(Put::Present);
        }
        let tmp = self
            .blobs
            .join(format!(".{}.{}.tmp", digest.hex(), uuid::Uuid::new_v4()));
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        let written = File::create(&tmp)
            .and_then(|mut file| {
                file.write_all(bytes)?;
                file.sync_all()
            })
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(source) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(&path)(source));
        }
        File::open(&self.blobs)
            .and_then(|dir| dir.sync_all())
            .map_err(io(&self.blobs))?;
        Ok(Put::Created)
    }

    /// Whether the module `digest` is stored.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// The size in bytes of the module `digest`, if it is stored.
    pub fn size(&self, digest: &Digest) -> Result<Option<u64>> {
        match std::fs::metadata(self.path(digest)) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                path: self.path(digest),
                source,
            }),
        }
    }

    /// Opens the module `digest` for reading, if it is stored.
    pub fn open_module(&self, digest: &Digest) -> Result<Option<File>> {
        match File::open(self.path(digest)) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                path: self.path(digest),
                source,
            }),
        }
    }

    /// The bytes of the module `digest`, if it is stored.
    pub fn get(&self, digest: &Digest) -> Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(digest)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io {
                path: self.path(digest),
                source,
            }),
        }
    }

    /// How many modules are stored.
    pub fn count(&self) -> Result<usize> {
        let entries = std::fs::read_dir(&self.blobs).map_err(|source| Error::Io {
            path: self.blobs.clone(),
            source,
        })?;
        Ok(entries
            .filter_map(std::result::Result::ok)
            .filter(|e| {
                Digest::parse(&format!("{ALGORITHM}{}", e.file_name().to_string_lossy())).is_ok()
            })
            .count())
    }

    fn path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &[u8] = b"\0asm\x01\0\0\0";

    fn store() -> (tempfile::TempDir, ModuleStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ModuleStore::open(dir.path().join("modules")).expect("open");
        (dir, store)
    }

    #[test]
    fn digests_parse_strictly() {
        let d = Digest::of(b"");
        assert_eq!(
            d.to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse(&d.to_string()).expect("valid"), d);
        for bad in [
            "",
            "sha256:",
            "sha256:abc",
            "sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha256:../0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert!(
                matches!(Digest::parse(bad), Err(Error::InvalidDigest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn put_then_get_and_put_again_is_idempotent() {
        let (dir, store) = store();
        let digest = Digest::of(MODULE);
        assert!(!store.contains(&digest));
        assert_eq!(store.get(&digest).expect("get"), None);
        assert_eq!(store.put(&digest, MODULE).expect("put"), Put::Created);
        assert_eq!(store.put(&digest, MODULE).expect("put"), Put::Present);
        assert!(store.contains(&digest));
        assert_eq!(store.get(&digest).expect("get").as_deref(), Some(MODULE));
        assert_eq!(
            store.size(&digest).expect("size"),
            Some(MODULE.len() as u64)
        );
        assert_eq!(store.count().expect("count"), 1);
        let on_disk = dir.path().join("modules/sha256").join(digest.hex());
        assert_eq!(std::fs::read(on_disk).expect("blob file"), MODULE);
        // Nothing temporary is left behind.
        let files = std::fs::read_dir(dir.path().join("modules/sha256"))
            .expect("dir")
            .count();
        assert_eq!(files, 1);
        // Reopened, the store still has it.
        let again = ModuleStore::open(dir.path().join("modules")).expect("reopen");
        assert!(again.contains(&digest));
    }

    #[test]
    fn refuses_mismatched_non_wasm_and_oversized_bodies() {
        let (_dir, store) = store();
        let other = Digest::of(b"\0asm\x01\0\0\0other");
        assert!(matches!(
            store.put(&other, MODULE),
            Err(Error::DigestMismatch { .. })
        ));
        let text = b"hello, not wasm";
        assert!(matches!(
            store.put(&Digest::of(text), text),
            Err(Error::NotWasm)
        ));
        let small = store.with_max_bytes(4);
        assert!(matches!(
            small.put(&Digest::of(MODULE), MODULE),
            Err(Error::TooLarge { size: 8, limit: 4 })
        ));
        assert_eq!(small.count().expect("count"), 0);
    }
}
