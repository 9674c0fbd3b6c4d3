//! [`Subject`]: what a certificate says about whom it is for — the CN and O entries that
//! Kubernetes reads as user and groups, the names it serves, its issuer and expiry — read
//! with x509-parser. Nothing here decides whether to trust it: the `tls` module verifies
//! chains.

use crate::error::Error;
use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What a certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The subject's common name (a Kubernetes user name).
    pub common_name: String,
    /// The subject's organizations (Kubernetes groups), in order.
    pub organizations: Vec<String>,
    /// DNS names and IP addresses of the subject alternative names, as text.
    pub names: Vec<String>,
    /// The issuer's common name.
    pub issuer: String,
    /// When it stops being valid, in seconds since the Unix epoch.
    pub not_after: i64,
}

impl Subject {
    /// Reads the first certificate of a PEM text.
    pub fn from_pem(pem: &str) -> Result<Self, Error> {
        let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|e| Error::malformed("a PEM certificate", e))?;
        Self::from_der(&CertificateDer::from(block.contents))
    }

    /// Reads a DER certificate.
    pub fn from_der(der: &CertificateDer<'_>) -> Result<Self, Error> {
        let (_, cert) = X509Certificate::from_der(der.as_ref())
            .map_err(|e| Error::malformed("a certificate", e))?;
        let text = |attr: &x509_parser::x509::AttributeTypeAndValue<'_>| {
            attr.as_str().map(str::to_string).unwrap_or_default()
        };
        let names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_string()),
                    GeneralName::IPAddress(bytes) => ip_text(bytes),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok(Self {
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .map(text)
                .unwrap_or_default(),
            organizations: cert.subject().iter_organization().map(text).collect(),
            names,
            issuer: cert
                .issuer()
                .iter_common_name()
                .next()
                .map(text)
                .unwrap_or_default(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }
}

/// An IP address SAN (4 or 16 octets) as text.
fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => {
            let octets: [u8; 4] = bytes.try_into().ok()?;
            Some(std::net::Ipv4Addr::from(octets).to_string())
        }
        16 => {
            let octets: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::Ipv6Addr::from(octets).to_string())
        }
        _ => None,
    }
}
