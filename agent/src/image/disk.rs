//! The node's image cache on disk: blobs by content digest at `<dir>/sha256/<hex>`, and the
//! reference index ([`Index`]) at `<dir>/index.json`. Every write is atomic (a temporary file
//! in the same directory, synced, then renamed over the target), so a crash leaves either the
//! old file or the new one; a blob read back is re-hashed, so a damaged one is discarded and
//! fetched again rather than run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::PullError;
use super::digest::digest_of;

/// The index's file name inside the cache directory.
const INDEX_FILE: &str = "index.json";

/// Version of the index format; an index of another version is ignored (images re-pulled).
const INDEX_VERSION: u32 = 1;

/// What the node knows about one reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// `sha256:<hex>` of the wasm bytes: the blob's name.
    pub(crate) digest: String,
    /// What `containerStatuses[].imageID` says.
    pub(crate) image_id: String,
    /// For file references, the file as it was when last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<FileStamp>,
}

/// A file's identity and version as far as `stat` tells: if all of it is unchanged, the
/// content is taken to be unchanged and is not re-read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileStamp {
    /// Size in bytes.
    pub(crate) len: u64,
    /// Modification time, seconds since the epoch.
    pub(crate) mtime: i64,
    /// Nanoseconds part of the modification time.
    pub(crate) mtime_nsec: i64,
    /// Inode number (a replaced file has a new one).
    pub(crate) ino: u64,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        FileStamp {
            len: meta.len(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
            ino: meta.ino(),
        }
    }
}

/// The reference index: reference as written in pod specs → what it resolved to.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Index {
    /// Format version ([`INDEX_VERSION`]).
    version: u32,
    /// The entries.
    pub(crate) images: HashMap<String, Entry>,
}

/// The cache directory.
#[derive(Debug)]
pub(crate) struct Disk {
    dir: PathBuf,
    /// Makes temporary file names unique within the process.
    temp_counter: AtomicU64,
}

impl Disk {
    /// Opens (creating if needed) the cache at `dir`.
    pub(crate) fn open(dir: PathBuf) -> Result<Self, PullError> {
        let blobs = dir.join("sha256");
        std::fs::create_dir_all(&blobs).map_err(|e| PullError::cache(&blobs, &e))?;
        Ok(Disk {
            dir,
            temp_counter: AtomicU64::new(0),
        })
    }

    /// Reads the index; a missing file is an empty index, and so (with a warning) is one
    /// that cannot be parsed: the cache is only an optimisation.
    pub(crate) fn load_index(&self) -> Result<Index, PullError> {
        let path = self.dir.join(INDEX_FILE);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => return Err(PullError::cache(&path, &e)),
        };
        match serde_json::from_slice::<Index>(&text) {
            Ok(index) if index.version == INDEX_VERSION => Ok(index),
            Ok(index) => {
                tracing::warn!(path = %path.display(), version = index.version, "ignoring image index of another version");
                Ok(Index::default())
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring unreadable image index");
                Ok(Index::default())
            }
        }
    }

    /// Writes the index atomically.
    pub(crate) async fn save_index(
        &self,
        images: &HashMap<String, Entry>,
    ) -> Result<(), PullError> {
        let index = IndexRef {
            version: INDEX_VERSION,
            images,
        };
        let json = serde_json::to_vec_pretty(&index).map_err(|e| PullError::Cache {
            path: self.dir.join(INDEX_FILE).display().to_string(),
            detail: e.to_string(),
        })?;
        self.write_atomic(&self.dir.join(INDEX_FILE), &json).await
    }

    /// The path of the blob with `digest` (`sha256:<hex>`).
    pub(crate) fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        self.dir.join("sha256").join(hex)
    }

    /// The blob with `digest`, if it is on disk and intact. A blob whose bytes no longer
    /// hash to its name is deleted and reported absent.
    pub(crate) async fn read_blob(&self, digest: &str) -> Result<Option<Bytes>, PullError> {
        let path = self.blob_path(digest);
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(PullError::cache(&path, &e)),
        };
        let actual = digest_of(&bytes);
        if actual != digest {
            tracing::warn!(path = %path.display(), %actual, "discarding damaged image blob");
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(PullError::cache(&path, &e)),
            }
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Stores `bytes` as the blob `digest`, which the caller has verified. Called only after
    /// a fetch, so it always writes: a damaged blob of the same name is replaced.
    pub(crate) async fn write_blob(&self, digest: &str, bytes: &[u8]) -> Result<(), PullError> {
        self.write_atomic(&self.blob_path(digest), bytes).await
    }

    /// Writes `data` to `path` through a synced temporary file renamed into place.
    async fn write_atomic(&self, path: &Path, data: &[u8]) -> Result<(), PullError> {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_file_name(format!(".tmp-{}-{n}", std::process::id()));
        let result = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            file.write_all(data).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&temp, path).await
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(PullError::cache(path, &e));
        }
        Ok(())
    }
}

/// [`Index`] borrowed for writing.
#[derive(Serialize)]
struct IndexRef<'a> {
    version: u32,
    images: &'a HashMap<String, Entry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(digest: &str) -> Entry {
        Entry {
            digest: digest.to_owned(),
            image_id: digest.to_owned(),
            file: Some(FileStamp {
                len: 1,
                mtime: 2,
                mtime_nsec: 3,
                ino: 4,
            }),
        }
    }

    #[tokio::test]
    async fn index_round_trips_and_tolerates_garbage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let disk = Disk::open(dir.path().to_owned()).expect("open");
        assert!(disk.load_index().expect("load").images.is_empty());
        let mut images = HashMap::new();
        images.insert("/a.wasm".to_owned(), entry("sha256:00"));
        disk.save_index(&images).await.expect("save");
        assert_eq!(disk.load_index().expect("load").images, images);
        std::fs::write(dir.path().join(INDEX_FILE), b"{not json").expect("write");
        assert!(disk.load_index().expect("load").images.is_empty());
    }

    #[tokio::test]
    async fn damaged_blobs_read_as_absent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let disk = Disk::open(dir.path().to_owned()).expect("open");
        let data = b"\0asm\x01\0\0\0";
        let digest = digest_of(data);
        assert_eq!(disk.read_blob(&digest).await.expect("read"), None);
        disk.write_blob(&digest, data).await.expect("write");
        let read = disk.read_blob(&digest).await.expect("read");
        assert_eq!(read.as_deref(), Some(&data[..]));
        std::fs::write(disk.blob_path(&digest), b"\0asm\x02\0\0\0").expect("damage");
        assert_eq!(disk.read_blob(&digest).await.expect("read"), None);
        assert!(!disk.blob_path(&digest).exists(), "damaged blob removed");
    }
}
