//! rustls configurations built from the cluster's PEM files.
//!
//! - [`server_config`]: serves an [`Identity`]; with a client CA it asks every caller for
//!   a certificate but lets the handshake finish whatever is offered (only that the caller
//!   holds the key of the certificate it sends is checked in the handshake). The chain is
//!   judged afterwards by [`ClientVerifier`], so a caller with an expired or foreign
//!   certificate gets an HTTP 401 saying so rather than a handshake failure, as
//!   kube-apiserver answers. The hint list of acceptable CAs is left empty, so clients (Go's
//!   among them) send the certificate they have instead of silently sending none.
//! - [`client_config`]: trusts the cluster CA and, optionally, presents an identity.
//!
//! Both offer HTTP/2 and HTTP/1.1 by ALPN.

use crate::error::Error;
use crate::inspect::Subject;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use std::sync::Arc;

/// ALPN protocols offered, in order of preference.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A certificate chain and its private key.
#[derive(Debug)]
pub struct Identity {
    /// The certificate first, then any intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Identity {
    /// Reads a PEM certificate chain and a PEM private key.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, Error> {
        let chain = certificates(cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
            .map_err(|e| Error::malformed("a private key", e))?;
        let identity = Self { chain, key };
        // A key that does not belong to the certificate is refused here, not in a
        // handshake later.
        rustls::crypto::ring::sign::any_supported_type(&identity.key)
            .map_err(|source| Error::Tls {
                what: "the private key",
                source,
            })
            .and_then(|signer| {
                let key = rustls::sign::CertifiedKey::new(identity.chain.clone(), signer);
                key.keys_match().map_err(|source| Error::Tls {
                    what: "the certificate and its key",
                    source,
                })
            })?;
        Ok(identity)
    }
}

/// The certificates of a PEM text (at least one).
pub fn certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::malformed("a PEM certificate", e))?;
    if certs.is_empty() {
        return Err(Error::malformed(
            "a PEM certificate",
            "no certificate in it",
        ));
    }
    Ok(certs)
}

/// The trust roots of a PEM text of CA certificates.
pub fn roots(ca_pem: &str) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(ca_pem)? {
        roots.add(cert).map_err(|source| Error::Tls {
            what: "a CA certificate",
            source,
        })?;
    }
    Ok(roots)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server configuration serving `identity`; with `client_ca`, callers are asked for a
/// certificate (verify it with [`ClientVerifier`] after the handshake).
pub fn server_config(
    identity: &Identity,
    client_ca: Option<&str>,
) -> Result<Arc<rustls::ServerConfig>, Error> {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls {
            what: "the TLS versions",
            source,
        })?;
    let builder = match client_ca {
        Some(_) => builder.with_client_cert_verifier(Arc::new(RequestClientCert {
            algorithms: provider().signature_verification_algorithms,
        })),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(|source| Error::Tls {
            what: "the serving certificate",
            source,
        })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A client configuration trusting `ca_pem`, presenting `identity` if given.
pub fn client_config(
    ca_pem: &str,
    identity: Option<&Identity>,
) -> Result<Arc<rustls::ClientConfig>, Error> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|source| Error::Tls {
            what: "the TLS versions",
            source,
        })?
        .with_root_certificates(roots(ca_pem)?);
    let mut config = match identity {
        Some(identity) => builder
            .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
            .map_err(|source| Error::Tls {
                what: "the client certificate",
                source,
            })?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Judges client certificate chains against a CA: signed by it, within their validity,
/// meant for client authentication.
#[derive(Debug, Clone)]
pub struct ClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
}

impl ClientVerifier {
    /// A verifier trusting the CA certificates of `ca_pem`.
    pub fn new(ca_pem: &str) -> Result<Self, Error> {
        let inner =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca_pem)?), provider())
                .build()
                .map_err(|e| Error::malformed("the client CA", e))?;
        Ok(Self { inner })
    }

    /// The subject of a chain the CA vouches for now, or why it does not.
    pub fn verify(&self, chain: &[CertificateDer<'_>]) -> Result<Subject, String> {
        let (end_entity, intermediates) = chain.split_first().ok_or("no certificate")?;
        self.inner
            .verify_client_cert(end_entity, intermediates, UnixTime::now())
            .map_err(|e| e.to_string())?;
        Subject::from_der(end_entity).map_err(|e| e.to_string())
    }
}

/// Asks for a client certificate and checks only that the caller holds its key; the chain
/// is for [`ClientVerifier`] to judge after the handshake.
#[derive(Debug)]
struct RequestClientCert {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::{Authority, LEAF_VALIDITY, Usage};

    fn client(ca: &Authority, user: &str) -> crate::Issued {
        ca.issue(
            &Usage::Client {
                user: user.into(),
                groups: vec!["g".into()],
            },
            LEAF_VALIDITY,
        )
        .expect("issue")
    }

    #[test]
    fn the_verifier_accepts_its_cas_clients_only() {
        let ca = Authority::create("ca").expect("ca");
        let other = Authority::create("other").expect("other");
        let verifier = ClientVerifier::new(ca.cert_pem()).expect("verifier");
        let ours = certificates(&client(&ca, "alice").cert_pem).expect("certs");
        assert_eq!(verifier.verify(&ours).expect("ours").common_name, "alice");
        let theirs = certificates(&client(&other, "mallory").cert_pem).expect("certs");
        assert!(verifier.verify(&theirs).is_err());
        assert!(verifier.verify(&[]).is_err());
    }

    #[test]
    fn an_expired_client_certificate_is_refused() {
        let ca = Authority::create("ca").expect("ca");
        let expired = ca
            .issue(
                &Usage::Client {
                    user: "old".into(),
                    groups: vec![],
                },
                time::Duration::minutes(-1),
            )
            .expect("issue");
        let verifier = ClientVerifier::new(ca.cert_pem()).expect("verifier");
        let chain = certificates(&expired.cert_pem).expect("certs");
        let error = verifier.verify(&chain).expect_err("expired");
        assert!(error.to_lowercase().contains("expired"), "{error}");
    }

    #[test]
    fn a_serving_certificate_is_refused_as_a_client() {
        let ca = Authority::create("ca").expect("ca");
        let server = ca
            .issue(
                &Usage::Server {
                    common_name: "s".into(),
                    names: vec!["localhost".into()],
                },
                LEAF_VALIDITY,
            )
            .expect("issue");
        let verifier = ClientVerifier::new(ca.cert_pem()).expect("verifier");
        assert!(
            verifier
                .verify(&certificates(&server.cert_pem).expect("certs"))
                .is_err()
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let ca = Authority::create("ca").expect("ca");
        let (a, b) = (client(&ca, "a"), client(&ca, "b"));
        assert!(Identity::from_pem(&a.cert_pem, &a.key_pem).is_ok());
        assert!(Identity::from_pem(&a.cert_pem, &b.key_pem).is_err());
        assert!(Identity::from_pem("junk", &a.key_pem).is_err());
    }

    #[test]
    fn configurations_build_from_issued_files() {
        let ca = Authority::create("ca").expect("ca");
        let server = ca
            .issue(
                &Usage::Server {
                    common_name: "s".into(),
                    names: vec!["127.0.0.1".into()],
                },
                LEAF_VALIDITY,
            )
            .expect("issue");
        let identity = Identity::from_pem(&server.cert_pem, &server.key_pem).expect("identity");
        server_config(&identity, Some(ca.cert_pem())).expect("server, asking clients");
        server_config(&identity, None).expect("server");
        let alice = client(&ca, "alice");
        let alice = Identity::from_pem(&alice.cert_pem, &alice.key_pem).expect("alice");
        client_config(ca.cert_pem(), Some(&alice)).expect("client");
    }
}
