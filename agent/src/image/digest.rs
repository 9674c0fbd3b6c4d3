//! [`digest_of`]: the content digest, `sha256:<hex>`, by which blobs are stored, pinned
//! and verified.

use sha2::{Digest, Sha256};

/// `sha256:<hex>` of `bytes`.
pub(crate) fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}
