//! Images that are files on the node: [`stamp`] tells cheaply whether a file changed since it
//! was last read, [`read`] reads it with the stamp of what was read.

use std::path::Path;

use bytes::Bytes;
use tokio::io::AsyncReadExt;

use super::PullError;
use super::disk::FileStamp;

/// The file's current [`FileStamp`] (one `stat`).
pub(crate) async fn stamp(path: &Path) -> Result<FileStamp, PullError> {
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| error(path, &e))?;
    Ok(FileStamp::of(&meta))
}

/// The file's bytes, and the stamp of the file they were read from (taken from the open
/// handle, so a file replaced meanwhile cannot pair new bytes with an old stamp).
pub(crate) async fn read(path: &Path) -> Result<(Bytes, FileStamp), PullError> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| error(path, &e))?;
    let meta = file.metadata().await.map_err(|e| error(path, &e))?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.read_to_end(&mut bytes)
        .await
        .map_err(|e| error(path, &e))?;
    Ok((Bytes::from(bytes), FileStamp::of(&meta)))
}

/// The user-facing error for an I/O failure on the image file.
fn error(path: &Path, e: &std::io::Error) -> PullError {
    let path = path.display().to_string();
    if e.kind() == std::io::ErrorKind::NotFound {
        PullError::FileNotFound { path }
    } else {
        PullError::FileRead {
            path,
            detail: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stamp_changes_when_the_file_does() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.wasm");
        std::fs::write(&path, b"one").expect("write");
        let (bytes, first) = read(&path).await.expect("read");
        assert_eq!(&bytes[..], b"one");
        assert_eq!(stamp(&path).await.expect("stat"), first);
        // Replaced by rename, as deploy tools do: a new inode even within one mtime tick.
        let next = dir.path().join("b.wasm");
        std::fs::write(&next, b"two").expect("write");
        std::fs::rename(&next, &path).expect("rename");
        assert_ne!(stamp(&path).await.expect("stat"), first);
    }

    #[tokio::test]
    async fn missing_and_unreadable_files_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.wasm");
        assert!(matches!(
            read(&missing).await,
            Err(PullError::FileNotFound { .. })
        ));
        match read(dir.path()).await {
            Err(PullError::FileRead { path, .. }) => {
                assert_eq!(path, dir.path().display().to_string());
            }
            other => panic!("reading a directory: {other:?}"),
        }
    }
}
