//! [`Authenticator`]: the chain of authenticators a request goes through — client
//! certificate, then bearer token — or, when the API is served without authentication
//! (`--insecure-http`), nothing at all: every request is then `system:unsecured`, a member
//! of `system:masters`, as on kube-apiserver's old insecure port.

use crate::apiserver::listener::ClientCert;
use crate::authn::token_file::TokenFile;
use crate::authn::user::UserInfo;

/// How requests are authenticated.
#[derive(Debug)]
pub struct Authenticator {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    /// Every request is `system:unsecured`.
    Unsecured,
    /// Credentials are checked; none means anonymous.
    Checked { tokens: Option<TokenFile> },
}

impl Default for Authenticator {
    /// The unsecured authenticator, for servers built without a security setup (tests).
    fn default() -> Self {
        Self::unsecured()
    }
}

impl Authenticator {
    /// Every request is `system:unsecured`, in `system:masters`.
    pub fn unsecured() -> Self {
        Self {
            mode: Mode::Unsecured,
        }
    }

    /// Client certificates, then the tokens of `tokens`; no credentials is anonymous.
    pub fn new(tokens: Option<TokenFile>) -> Self {
        Self {
            mode: Mode::Checked { tokens },
        }
    }

    /// Whether credentials are checked at all.
    pub fn is_secure(&self) -> bool {
        matches!(self.mode, Mode::Checked { .. })
    }

    /// Who sent a request with the connection's `cert` and the `Authorization` header
    /// `authorization`; `Err` says why its credentials are refused (for the log: the
    /// caller is told only "Unauthorized").
    pub fn authenticate(
        &self,
        cert: &ClientCert,
        authorization: Option<&str>,
    ) -> Result<UserInfo, String> {
        let tokens = match &self.mode {
            Mode::Unsecured => return Ok(UserInfo::unsecured()),
            Mode::Checked { tokens } => tokens,
        };
        let mut failure = None;
        match cert {
            ClientCert::Verified(subject) => {
                return Ok(UserInfo::authenticated(
                    subject.common_name.clone(),
                    String::new(),
                    subject.organizations.clone(),
                ));
            }
            ClientCert::Rejected(reason) => {
                failure = Some(format!("client certificate refused: {reason}"));
            }
            ClientCert::None => {}
        }
        if let Some(header) = authorization {
            let token = bearer(header)
                .ok_or_else(|| "the Authorization header is not a bearer token".to_string())?;
            if let Some(user) = tokens.as_ref().and_then(|t| t.user(token)) {
                return Ok(user.clone());
            }
            return Err(failure.unwrap_or_else(|| "unknown bearer token".to_string()));
        }
        match failure {
            Some(failure) => Err(failure),
            None => Ok(UserInfo::anonymous()),
        }
    }
}

/// The token of `Bearer <token>` (the scheme case-insensitive, as Kubernetes reads it).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_pki::Subject;
    use std::sync::Arc;

    fn authenticator() -> Authenticator {
        Authenticator::new(Some(
            TokenFile::parse("secret,alice,1,team-a\n").expect("tokens"),
        ))
    }

    fn cert(name: &str, groups: &[&str]) -> ClientCert {
        ClientCert::Verified(Arc::new(Subject {
            common_name: name.into(),
            organizations: groups.iter().map(|g| g.to_string()).collect(),
            names: vec![],
            issuer: "ca".into(),
            not_after: 0,
        }))
    }

    #[test]
    fn a_certificate_names_user_and_groups() {
        let user = authenticator()
            .authenticate(&cert("skiff-admin", &["system:masters"]), None)
            .expect("user");
        assert_eq!(user.name, "skiff-admin");
        assert_eq!(user.groups, ["system:masters", "system:authenticated"]);
    }

    #[test]
    fn a_known_token_is_its_user_and_an_unknown_one_is_refused() {
        let auth = authenticator();
        let user = auth
            .authenticate(&ClientCert::None, Some("Bearer secret"))
            .expect("alice");
        assert_eq!(user.name, "alice");
        assert!(
            auth.authenticate(&ClientCert::None, Some("Bearer nope"))
                .is_err()
        );
        assert!(
            auth.authenticate(&ClientCert::None, Some("Basic abc"))
                .is_err()
        );
        assert!(
            auth.authenticate(&ClientCert::None, Some("Bearer "))
                .is_err()
        );
    }

    #[test]
    fn no_credentials_is_anonymous_but_refused_ones_are_not() {
        let auth = authenticator();
        assert_eq!(
            auth.authenticate(&ClientCert::None, None)
                .expect("anonymous"),
            UserInfo::anonymous()
        );
        let rejected = ClientCert::Rejected("expired".into());
        let error = auth.authenticate(&rejected, None).expect_err("rejected");
        assert!(error.contains("expired"), "{error}");
        // A valid token still authenticates a connection with a refused certificate.
        assert_eq!(
            auth.authenticate(&rejected, Some("Bearer secret"))
                .expect("token")
                .name,
            "alice"
        );
    }

    #[test]
    fn unsecured_makes_everyone_a_master() {
        let user = Authenticator::unsecured()
            .authenticate(&ClientCert::None, None)
            .expect("user");
        assert!(user.in_group("system:masters"));
    }
}
