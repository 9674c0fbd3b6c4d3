//! [`Authority`]: the cluster CA. [`Authority::load_or_create`] keeps it as `ca.crt` and
//! `ca.key` (`0600`) in a directory, as kubeadm keeps `pki/ca.{crt,key}`; it signs ECDSA
//! P-256 certificates for a [`Usage`]: serving a set of names and addresses, or
//! authenticating a Kubernetes identity (CN = user name, O = groups).
//!
//! What a certificate says is always the authority's choice: [`Authority::sign_request`]
//! takes only the public key from a signing request and writes the subject and names it
//! was told to, so a node asking for more than it is gets nothing more.

use crate::error::Error;
use crate::files;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// The CA's lifetime, as kubeadm's (ten years).
pub const CA_VALIDITY: Duration = Duration::days(3650);
/// A leaf certificate's lifetime, as kubeadm's (one year).
pub const LEAF_VALIDITY: Duration = Duration::days(365);
/// Issued certificates start this long before now, for clocks a little behind.
const BACKDATE: Duration = Duration::minutes(5);

/// What a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server answering to these DNS names and IP addresses.
    Server {
        /// The common name (informational; clients check the names).
        common_name: String,
        /// DNS names and IP addresses, as text.
        names: Vec<String>,
    },
    /// A TLS client authenticating as this user, member of these groups.
    Client {
        /// The user name (the subject's CN).
        user: String,
        /// The groups (the subject's O entries). At most one: rcgen writes each
        /// attribute type once per subject. Certificates with several O entries, made
        /// with other tools and signed by the CA, are read with all of them.
        groups: Vec<String>,
    },
}

/// A certificate and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

/// The cluster CA: its certificate and the means to sign with its key.
pub struct Authority {
    cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").finish_non_exhaustive()
    }
}

impl Authority {
    /// The CA in `dir` (`ca.crt`, `ca.key`), created there with `common_name` if it has
    /// none yet. Fails rather than replacing a CA that is there but unreadable: every
    /// certificate and kubeconfig handed out depends on it.
    pub fn load_or_create(dir: &Path, common_name: &str) -> Result<Self, Error> {
        let cert_path = dir.join("ca.crt");
        let key_path = dir.join("ca.key");
        match (files::read(&cert_path)?, files::read(&key_path)?) {
            (Some(cert_pem), Some(key_pem)) => Self::from_pem(&cert_pem, &key_pem),
            (None, None) => {
                let (authority, key_pem) = Self::generate(common_name)?;
                // The key first: a certificate without its key would be a CA nobody can use.
                files::write_private(&key_path, key_pem.as_bytes())?;
                files::write_public(&cert_path, authority.cert_pem.as_bytes())?;
                Ok(authority)
            }
            (Some(_), None) => Err(Error::malformed(
                "the cluster CA",
                format!(
                    "{} is there but {} is not",
                    cert_path.display(),
                    key_path.display()
                ),
            )),
            (None, Some(_)) => Err(Error::malformed(
                "the cluster CA",
                format!(
                    "{} is there but {} is not",
                    key_path.display(),
                    cert_path.display()
                ),
            )),
        }
    }

    /// A new CA, in memory.
    pub fn create(common_name: &str) -> Result<Self, Error> {
        Self::generate(common_name).map(|(authority, _)| authority)
    }

    /// A new CA and its key, PEM.
    fn generate(common_name: &str) -> Result<(Self, String), Error> {
        let key = KeyPair::generate().map_err(Error::generate("the CA key"))?;
        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.serial_number = Some(serial()?);
        let now = OffsetDateTime::now_utc();
        params.not_before = now - BACKDATE;
        params.not_after = now + CA_VALIDITY;
        let cert = params
            .self_signed(&key)
            .map_err(Error::generate("the CA certificate"))?;
        let key_pem = key.serialize_pem();
        Ok((
            Self {
                cert_pem: cert.pem(),
                issuer: Issuer::new(params, key),
            },
            key_pem,
        ))
    }

    /// The CA from its certificate and key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let key = KeyPair::from_pem(key_pem).map_err(Error::generate("the CA key"))?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key)
            .map_err(Error::generate("the CA certificate"))?;
        Ok(Self {
            cert_pem: cert_pem.to_string(),
            issuer,
        })
    }

    /// The CA's certificate, PEM: what clients and servers trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A new key and a certificate for it.
    pub fn issue(&self, usage: &Usage, validity: Duration) -> Result<Issued, Error> {
        let key = KeyPair::generate().map_err(Error::generate("a key"))?;
        let cert = leaf_params(usage, validity)?
            .signed_by(&key, &self.issuer)
            .map_err(Error::generate("a certificate"))?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// A certificate for the key of `csr_pem` (a PKCS#10 request, whose signature proves
    /// the requester holds the key), saying only what `usage` says.
    pub fn sign_request(
        &self,
        csr_pem: &str,
        usage: &Usage,
        validity: Duration,
    ) -> Result<String, Error> {
        let request = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(|e| Error::malformed("the certificate signing request", e))?;
        let cert = leaf_params(usage, validity)?
            .signed_by(&request.public_key, &self.issuer)
            .map_err(Error::generate("a certificate"))?;
        Ok(cert.pem())
    }
}

/// The parameters of a leaf certificate for `usage`.
fn leaf_params(usage: &Usage, validity: Duration) -> Result<CertificateParams, Error> {
    let mut params = match usage {
        Usage::Server { common_name, names } => {
            let mut params = CertificateParams::new(names.clone())
                .map_err(Error::generate("a serving certificate's names"))?;
            params.distinguished_name = DistinguishedName::new();
            params
                .distinguished_name
                .push(DnType::CommonName, common_name.as_str());
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params
        }
        Usage::Client { user, groups } => {
            if groups.len() > 1 {
                return Err(Error::malformed(
                    "a client certificate",
                    format!("one group at most can be written, not {groups:?}"),
                ));
            }
            let mut params = CertificateParams::default();
            params.distinguished_name = DistinguishedName::new();
            for group in groups {
                params
                    .distinguished_name
                    .push(DnType::OrganizationName, group.as_str());
            }
            params
                .distinguished_name
                .push(DnType::CommonName, user.as_str());
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            params
        }
    };
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(serial()?);
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + validity;
    Ok(params)
}

/// A random positive 128-bit serial number (RFC 5280 asks for up to 20 octets, unique per
/// CA).
fn serial() -> Result<SerialNumber, Error> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::malformed("a serial number", "the system has no randomness"))?;
    // Positive as a DER INTEGER, and without a leading zero octet.
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::Subject;

    #[test]
    fn the_ca_is_created_once_and_its_key_kept_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("dir");
        let first = Authority::load_or_create(dir.path(), "skiff-ca").expect("create");
        let again = Authority::load_or_create(dir.path(), "skiff-ca").expect("load");
        assert_eq!(first.cert_pem(), again.cert_pem());
        let mode = std::fs::metadata(dir.path().join("ca.key"))
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A certificate issued by the loaded CA names the created one as issuer.
        let issued = again
            .issue(
                &Usage::Client {
                    user: "alice".into(),
                    groups: vec![],
                },
                LEAF_VALIDITY,
            )
            .expect("issue");
        let subject = Subject::from_pem(&issued.cert_pem).expect("parse");
        assert_eq!(subject.issuer, "skiff-ca");
    }

    #[test]
    fn half_a_ca_is_an_error_not_a_new_ca() {
        let dir = tempfile::tempdir().expect("dir");
        Authority::load_or_create(dir.path(), "skiff-ca").expect("create");
        std::fs::remove_file(dir.path().join("ca.key")).expect("remove");
        let error = Authority::load_or_create(dir.path(), "skiff-ca").expect_err("half");
        assert!(error.to_string().contains("ca.key"), "{error}");
    }

    #[test]
    fn a_client_certificate_carries_user_and_group() {
        let ca = Authority::create("ca").expect("ca");
        let issued = ca
            .issue(
                &Usage::Client {
                    user: "skiff-admin".into(),
                    groups: vec!["system:masters".into()],
                },
                LEAF_VALIDITY,
            )
            .expect("issue");
        let subject = Subject::from_pem(&issued.cert_pem).expect("parse");
        assert_eq!(subject.common_name, "skiff-admin");
        assert_eq!(subject.organizations, ["system:masters"]);
        // Two groups would silently become one; that is refused instead.
        let two = Usage::Client {
            user: "u".into(),
            groups: vec!["a".into(), "b".into()],
        };
        assert!(ca.issue(&two, LEAF_VALIDITY).is_err());
    }

    #[test]
    fn a_signed_request_gets_the_authoritys_subject_not_its_own() {
        let ca = Authority::create("ca").expect("ca");
        let (key_pem, csr_pem) =
            crate::request::new_key_and_request("system:node:other").expect("csr");
        let cert_pem = ca
            .sign_request(
                &csr_pem,
                &Usage::Client {
                    user: "system:node:n1".into(),
                    groups: vec!["system:nodes".into()],
                },
                LEAF_VALIDITY,
            )
            .expect("sign");
        let subject = Subject::from_pem(&cert_pem).expect("parse");
        assert_eq!(subject.common_name, "system:node:n1");
        assert_eq!(subject.organizations, ["system:nodes"]);
        // The certificate is for the requester's key.
        crate::tls::Identity::from_pem(&cert_pem, &key_pem).expect("key matches");
        assert!(
            ca.sign_request(
                "not a request",
                &Usage::Client {
                    user: "x".into(),
                    groups: vec![]
                },
                LEAF_VALIDITY
            )
            .is_err()
        );
    }

    #[test]
    fn a_serving_certificate_names_hosts_and_addresses() {
        let ca = Authority::create("ca").expect("ca");
        let issued = ca
            .issue(
                &Usage::Server {
                    common_name: "skiff-apiserver".into(),
                    names: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
                },
                LEAF_VALIDITY,
            )
            .expect("issue");
        let subject = Subject::from_pem(&issued.cert_pem).expect("parse");
        assert_eq!(subject.names, ["localhost", "127.0.0.1", "::1"]);
    }
}
