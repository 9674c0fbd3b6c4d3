//! Signing keys that are not certificates: [`load_or_create`] keeps an ECDSA P-256 key in a
//! `0600` file (made on first use), as kube-apiserver keeps `sa.key` for ServiceAccount
//! tokens, and gives both halves as PEM.

use crate::error::Error;
use crate::files;
use rcgen::KeyPair;
use std::path::Path;

/// A key pair, PEM.
#[derive(Debug, Clone)]
pub struct SigningKey {
    /// The private key (PKCS#8).
    pub private_pem: String,
    /// The public key (SubjectPublicKeyInfo).
    pub public_pem: String,
}

/// The key in `path`, created there if it has none.
pub fn load_or_create(path: &Path) -> Result<SigningKey, Error> {
    let key = match files::read(path)? {
        Some(pem) => KeyPair::from_pem(&pem).map_err(Error::generate("a signing key"))?,
        None => {
            let key = KeyPair::generate().map_err(Error::generate("a signing key"))?;
            files::write_private(path, key.serialize_pem().as_bytes())?;
            key
        }
    };
    Ok(SigningKey {
        private_pem: key.serialize_pem(),
        public_pem: key.public_key_pem(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("sa.key");
        let first = load_or_create(&path).expect("create");
        let again = load_or_create(&path).expect("load");
        assert_eq!(first.private_pem, again.private_pem);
        assert!(first.public_pem.contains("PUBLIC KEY"));
    }
}
