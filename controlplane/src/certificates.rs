//! The API server's certificates, kept in `DATA_DIR/tls` as kubeadm keeps `pki/`:
//!
//! - `ca.crt` / `ca.key`: the cluster CA, made on first start and kept
//!   ([`skiff_pki::Authority`]); every other certificate of the cluster chains to it;
//! - `apiserver.crt` / `apiserver.key`: the serving certificate, for [`serving_names`] —
//!   the listen address, `localhost`, the loopback addresses, the host name, the in-cluster
//!   names of the `kubernetes` Service, and every `--tls-san`. It is kept across starts and
//!   issued again when the names change or it has less than [`RENEW_BEFORE`] left;
//! - the admin client certificate (CN `skiff-admin`, O `system:masters`) goes into the
//!   kubeconfig only ([`admin_client`]), issued afresh on each start as the kubeconfig is
//!   written.
//!
//! Private keys are written `0600`.

use skiff_pki::authority::LEAF_VALIDITY;
use skiff_pki::tls::Identity;
use skiff_pki::{Authority, Error, Issued, Subject, Usage, files};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;

/// The CA's common name.
pub const CA_NAME: &str = "skiff-ca";
/// The admin user the kubeconfig authenticates as.
pub const ADMIN_USER: &str = "skiff-admin";
/// A serving certificate with less than this left is issued again at start.
pub const RENEW_BEFORE: time::Duration = time::Duration::days(30);

/// The certificates the API server serves with.
pub struct ServerCertificates {
    /// The cluster CA.
    pub authority: Authority,
    /// The serving certificate and key.
    pub serving: Identity,
}

impl ServerCertificates {
    /// Loads (or makes) the CA and a serving certificate for `names` in `dir`.
    pub fn prepare(dir: &Path, names: &[String]) -> Result<Self, Error> {
        let authority = Authority::load_or_create(dir, CA_NAME)?;
        let cert_path = dir.join("apiserver.crt");
        let key_path = dir.join("apiserver.key");
        if let (Some(cert), Some(key)) = (files::read(&cert_path)?, files::read(&key_path)?)
            && still_good(&cert, names)
            && let Ok(identity) = Identity::from_pem(&cert, &key)
        {
            return Ok(Self {
                authority,
                serving: identity,
            });
        }
        let issued = authority.issue(
            &Usage::Server {
                common_name: "skiff-apiserver".to_string(),
                names: names.to_vec(),
            },
            LEAF_VALIDITY,
        )?;
        files::write_private(&key_path, issued.key_pem.as_bytes())?;
        files::write_public(&cert_path, issued.cert_pem.as_bytes())?;
        tracing::info!(names = ?names, "issued the API server's serving certificate");
        Ok(Self {
            serving: Identity::from_pem(&issued.cert_pem, &issued.key_pem)?,
            authority,
        })
    }
}

/// Whether a stored serving certificate is from this CA, names exactly `names` and is not
/// about to expire.
fn still_good(cert_pem: &str, names: &[String]) -> bool {
    let Ok(subject) = Subject::from_pem(cert_pem) else {
        return false;
    };
    let have: BTreeSet<&str> = subject.names.iter().map(String::as_str).collect();
    let want: BTreeSet<&str> = names.iter().map(String::as_str).collect();
    let left = subject.not_after - time::OffsetDateTime::now_utc().unix_timestamp();
    subject.issuer == CA_NAME && have == want && left > RENEW_BEFORE.whole_seconds()
}

/// The names the serving certificate is for: what clients may dial.
pub fn serving_names(listen: SocketAddr, extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = [
        "localhost",
        "127.0.0.1",
        "::1",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    .iter()
    .map(|n| (*n).to_string())
    .collect();
    if !listen.ip().is_unspecified() {
        names.push(listen.ip().to_string());
    }
    if let Some(host) = host_name() {
        names.push(host);
    }
    names.extend(extra.iter().cloned());
    let mut seen = BTreeSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

/// The machine's host name.
fn host_name() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// A client certificate for the admin user, for the kubeconfig.
pub fn admin_client(authority: &Authority) -> Result<Issued, Error> {
    authority.issue(
        &Usage::Client {
            user: ADMIN_USER.to_string(),
            groups: vec![crate::authn::user::MASTERS.to_string()],
        },
        LEAF_VALIDITY,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_serving_certificate_is_kept_until_its_names_change() {
        let dir = tempfile::tempdir().expect("dir");
        let listen: SocketAddr = "127.0.0.1:6443".parse().expect("addr");
        let names = serving_names(listen, &["api.example.com".into(), "10.0.0.5".into()]);
        assert!(names.contains(&"localhost".to_string()));
        assert!(names.contains(&"api.example.com".to_string()));
        let first = ServerCertificates::prepare(dir.path(), &names).expect("first");
        let again = ServerCertificates::prepare(dir.path(), &names).expect("again");
        assert_eq!(first.serving.chain, again.serving.chain);
        let more = serving_names(listen, &["other.example.com".into()]);
        let changed = ServerCertificates::prepare(dir.path(), &more).expect("changed");
        assert_ne!(first.serving.chain, changed.serving.chain);
        let subject = Subject::from_der(&changed.serving.chain[0]).expect("subject");
        assert!(subject.names.contains(&"other.example.com".to_string()));
        assert!(!subject.names.contains(&"api.example.com".to_string()));
        // The CA stays the same throughout.
        assert_eq!(first.authority.cert_pem(), changed.authority.cert_pem());
    }
}
