//! [`Authenticator`]: the chain of authenticators a request goes through — client
//! certificate, then bearer token (the token file's, then a ServiceAccount token whose
//! ServiceAccount, and pod if it is bound to one, still exist with the uids it names) —
//! or, when the API is served without authentication (`--insecure-http`), nothing at all:
//! every request is then `system:unsecured`, a member of `system:masters`, as on
//! kube-apiserver's old insecure port.

use crate::apiserver::listener::ClientCert;
use crate::authn::service_account::{
    self, ALL_GROUP, Claims, ISSUER, ServiceAccountTokens, USER_PREFIX,
};
use crate::authn::token_file::TokenFile;
use crate::authn::user::UserInfo;
use crate::store::Store;
use skiff_model::kinds::find;
use std::sync::Arc;

/// ServiceAccount tokens, and the store their subjects are looked up in.
pub struct ServiceAccounts {
    /// The key that signs and verifies them.
    pub tokens: Arc<ServiceAccountTokens>,
    /// Where ServiceAccounts and pods are.
    pub store: Arc<dyn Store>,
}

impl std::fmt::Debug for ServiceAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccounts").finish_non_exhaustive()
    }
}

/// The `extra` keys Kubernetes gives a ServiceAccount token's user.
const POD_NAME: &str = "authentication.kubernetes.io/pod-name";
const POD_UID: &str = "authentication.kubernetes.io/pod-uid";
const CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";

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
    Checked {
        tokens: Option<TokenFile>,
        service_accounts: Option<ServiceAccounts>,
        anonymous: bool,
    },
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

    /// Client certificates, then the tokens of `tokens`, then ServiceAccount tokens; no
    /// credentials is anonymous.
    pub fn new(tokens: Option<TokenFile>, service_accounts: Option<ServiceAccounts>) -> Self {
        Self {
            mode: Mode::Checked {
                tokens,
                service_accounts,
                anonymous: true,
            },
        }
    }

    /// Whether a request without credentials is `system:anonymous` (true, Kubernetes'
    /// default) or refused with a 401 (`--anonymous-auth=false`).
    pub fn anonymous(mut self, allowed: bool) -> Self {
        if let Mode::Checked { anonymous, .. } = &mut self.mode {
            *anonymous = allowed;
        }
        self
    }

    /// The ServiceAccount tokens, when they are accepted (and so can be issued).
    pub fn service_accounts(&self) -> Option<&ServiceAccounts> {
        match &self.mode {
            Mode::Checked {
                service_accounts, ..
            } => service_accounts.as_ref(),
            Mode::Unsecured => None,
        }
    }

    /// Whether credentials are checked at all.
    pub fn is_secure(&self) -> bool {
        matches!(self.mode, Mode::Checked { .. })
    }

    /// Who sent a request with the connection's `cert` and the `Authorization` header
    /// `authorization`; `Err` says why its credentials are refused (for the log: the
    /// caller is told only "Unauthorized").
    pub async fn authenticate(
        &self,
        cert: &ClientCert,
        authorization: Option<&str>,
    ) -> Result<UserInfo, String> {
        let (tokens, service_accounts, anonymous) = match &self.mode {
            Mode::Unsecured => return Ok(UserInfo::unsecured()),
            Mode::Checked {
                tokens,
                service_accounts,
                anonymous,
            } => (tokens, service_accounts, *anonymous),
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
            if let Some(accounts) = service_accounts
                && service_account::looks_like_jwt(token)
            {
                return match accounts.tokens.verify(token, &[ISSUER]) {
                    Ok(claims) => still_bound(&accounts.store, &claims)
                        .await
                        .map(|()| user_of(&claims)),
                    Err(reason) => Err(reason),
                };
            }
            return Err(failure.unwrap_or_else(|| "unknown bearer token".to_string()));
        }
        match failure {
            Some(failure) => Err(failure),
            None if anonymous => Ok(UserInfo::anonymous()),
            None => Err("no credentials, and anonymous requests are not allowed".to_string()),
        }
    }
}

/// Whether the ServiceAccount of `claims` (and its pod, for a pod-bound token) still
/// exist with the uids the token names.
async fn still_bound(store: &Arc<dyn Store>, claims: &Claims) -> Result<(), String> {
    let binding = &claims.kubernetes;
    let uid_of = |plural: &str, name: &str| {
        let key = find("", "v1", plural).map(|k| k.key(Some(&binding.namespace), name));
        let store = store.clone();
        async move {
            let kv = store.get(&key?).await.ok()??;
            let object: serde_json::Value = serde_json::from_slice(&kv.value).ok()?;
            object
                .pointer("/metadata/uid")?
                .as_str()
                .map(str::to_string)
        }
    };
    let account = &binding.serviceaccount;
    if uid_of("serviceaccounts", &account.name).await.as_deref() != Some(account.uid.as_str()) {
        return Err(format!(
            "service account token: ServiceAccount {}/{} (uid {}) is gone",
            binding.namespace, account.name, account.uid
        ));
    }
    if let Some(pod) = &binding.pod
        && uid_of("pods", &pod.name).await.as_deref() != Some(pod.uid.as_str())
    {
        return Err(format!(
            "service account token: its pod {}/{} (uid {}) is gone",
            binding.namespace, pod.name, pod.uid
        ));
    }
    Ok(())
}

/// The user a ServiceAccount token authenticates: `system:serviceaccount:NS:NAME`, in
/// `system:serviceaccounts` and `system:serviceaccounts:NS`.
fn user_of(claims: &Claims) -> UserInfo {
    let binding = &claims.kubernetes;
    let mut user = UserInfo::authenticated(
        format!(
            "{USER_PREFIX}{}:{}",
            binding.namespace, binding.serviceaccount.name
        ),
        binding.serviceaccount.uid.clone(),
        vec![
            ALL_GROUP.to_string(),
            format!("{ALL_GROUP}:{}", binding.namespace),
        ],
    );
    if let Some(pod) = &binding.pod {
        user.extra.insert(POD_NAME.into(), vec![pod.name.clone()]);
        user.extra.insert(POD_UID.into(), vec![pod.uid.clone()]);
    }
    user.extra
        .insert(CREDENTIAL_ID.into(), vec![format!("JTI={}", claims.jti)]);
    user
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
        Authenticator::new(
            Some(TokenFile::parse("secret,alice,1,team-a\n").expect("tokens")),
            None,
        )
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

    #[tokio::test]
    async fn a_certificate_names_user_and_groups() {
        let user = authenticator()
            .authenticate(&cert("skiff-admin", &["system:masters"]), None)
            .await
            .expect("user");
        assert_eq!(user.name, "skiff-admin");
        assert_eq!(user.groups, ["system:masters", "system:authenticated"]);
    }

    #[tokio::test]
    async fn a_known_token_is_its_user_and_an_unknown_one_is_refused() {
        let auth = authenticator();
        let user = auth
            .authenticate(&ClientCert::None, Some("Bearer secret"))
            .await
            .expect("alice");
        assert_eq!(user.name, "alice");
        assert!(
            auth.authenticate(&ClientCert::None, Some("Bearer nope"))
                .await
                .is_err()
        );
        assert!(
            auth.authenticate(&ClientCert::None, Some("Basic abc"))
                .await
                .is_err()
        );
        assert!(
            auth.authenticate(&ClientCert::None, Some("Bearer "))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn no_credentials_is_anonymous_but_refused_ones_are_not() {
        let auth = authenticator();
        assert_eq!(
            auth.authenticate(&ClientCert::None, None)
                .await
                .expect("anonymous"),
            UserInfo::anonymous()
        );
        let rejected = ClientCert::Rejected("expired".into());
        let error = auth
            .authenticate(&rejected, None)
            .await
            .expect_err("rejected");
        assert!(error.contains("expired"), "{error}");
        // A valid token still authenticates a connection with a refused certificate.
        assert_eq!(
            auth.authenticate(&rejected, Some("Bearer secret"))
                .await
                .expect("token")
                .name,
            "alice"
        );
    }

    #[tokio::test]
    async fn without_anonymous_access_no_credentials_is_refused() {
        let auth = authenticator().anonymous(false);
        assert!(auth.authenticate(&ClientCert::None, None).await.is_err());
        let user = auth
            .authenticate(&ClientCert::None, Some("Bearer secret"))
            .await
            .expect("a token still works");
        assert_eq!(user.name, "alice");
    }

    #[tokio::test]
    async fn unsecured_makes_everyone_a_master() {
        let user = Authenticator::unsecured()
            .authenticate(&ClientCert::None, None)
            .await
            .expect("user");
        assert!(user.in_group("system:masters"));
    }
}
