//! The asking side: [`new_key_and_request`] makes a private key that never leaves its
//! holder and a PKCS#10 request for it, which an [`Authority`](crate::Authority) turns
//! into a certificate.

use crate::error::Error;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};

/// A new private key (PEM) and a signing request for it asking for `common_name` (PEM).
pub fn new_key_and_request(common_name: &str) -> Result<(String, String), Error> {
    let key = KeyPair::generate().map_err(Error::generate("a key"))?;
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    let request = params
        .serialize_request(&key)
        .map_err(Error::generate("a certificate signing request"))?;
    let pem = request
        .pem()
        .map_err(Error::generate("a certificate signing request"))?;
    Ok((key.serialize_pem(), pem))
}
