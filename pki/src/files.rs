//! PEM files on disk: [`write_private`] for keys and anything that grants access (created
//! `0600` under a temporary name, synced, then renamed, so a crash leaves the old file or
//! the new one and never a readable half), [`write_public`] for certificates, [`read`].

use crate::error::Error;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write(path, contents, 0o600)
}

/// Writes a file anyone may read (a certificate).
pub fn write_public(path: &Path, contents: &[u8]) -> Result<(), Error> {
    write(path, contents, 0o644)
}

/// Reads a file as text; `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn write(path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| Error::io(&tmp, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_private_file_is_readable_by_its_owner_only_and_replaced_whole() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sub/key.pem");
        write_private(&path, b"one").expect("write");
        write_private(&path, b"two").expect("rewrite");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(read(&path).expect("read").as_deref(), Some("two"));
        assert!(!path.with_extension("tmp").exists());
        assert_eq!(read(&dir.path().join("none")).expect("read"), None);
    }
}
