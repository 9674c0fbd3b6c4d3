//! [`UserInfo`]: an authenticated (or anonymous) identity — Kubernetes' `user.Info` — and
//! the well-known users and groups of Kubernetes' bootstrap policy.

use std::collections::BTreeMap;

/// The group whose members may do anything (Kubernetes' privileged group).
pub const MASTERS: &str = "system:masters";
/// The group of every authenticated user.
pub const AUTHENTICATED: &str = "system:authenticated";
/// The group of anonymous requests.
pub const UNAUTHENTICATED: &str = "system:unauthenticated";
/// The user of anonymous requests.
pub const ANONYMOUS: &str = "system:anonymous";
/// The user every request is when the API is served without authentication
/// (`--insecure-http`), as on kube-apiserver's old insecure port.
pub const UNSECURED: &str = "system:unsecured";

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    /// The user name.
    pub name: String,
    /// A unique identifier, when the authenticator has one.
    pub uid: String,
    /// Groups, `system:authenticated` included for authenticated users.
    pub groups: Vec<String>,
    /// Further attributes (ServiceAccount tokens carry the pod they were bound to).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl UserInfo {
    /// An authenticated user: `groups` plus `system:authenticated`.
    pub fn authenticated(
        name: impl Into<String>,
        uid: impl Into<String>,
        groups: Vec<String>,
    ) -> Self {
        let mut groups = groups;
        if !groups.iter().any(|g| g == AUTHENTICATED) {
            groups.push(AUTHENTICATED.to_string());
        }
        Self {
            name: name.into(),
            uid: uid.into(),
            groups,
            extra: BTreeMap::new(),
        }
    }

    /// The anonymous user.
    pub fn anonymous() -> Self {
        Self {
            name: ANONYMOUS.to_string(),
            uid: String::new(),
            groups: vec![UNAUTHENTICATED.to_string()],
            extra: BTreeMap::new(),
        }
    }

    /// The user of every request served without authentication: a member of
    /// `system:masters`.
    pub fn unsecured() -> Self {
        Self::authenticated(UNSECURED, "", vec![MASTERS.to_string()])
    }

    /// Whether the user is in `group`.
    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}
