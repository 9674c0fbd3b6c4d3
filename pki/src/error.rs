//! [`Error`]: why a certificate could not be made, read or used.

use std::path::PathBuf;

/// A failure of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// rcgen could not make or sign a key, certificate or request.
    #[error("{what}: {source}")]
    Generate {
        /// What was being made.
        what: &'static str,
        /// rcgen's reason.
        source: rcgen::Error,
    },
    /// A PEM or DER document is not what it should be.
    #[error("{what}: {detail}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it does not parse.
        detail: String,
    },
    /// rustls refused a configuration (a key that does not match its certificate, say).
    #[error("{what}: {source}")]
    Tls {
        /// What was being configured.
        what: &'static str,
        /// rustls' reason.
        source: rustls::Error,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn generate(what: &'static str) -> impl FnOnce(rcgen::Error) -> Self {
        move |source| Self::Generate { what, source }
    }

    pub(crate) fn malformed(what: &'static str, detail: impl ToString) -> Self {
        Self::Malformed {
            what,
            detail: detail.to_string(),
        }
    }
}
