//! [`ResourcePath`]: which resource a URL names — `/api/v1/...` or
//! `/apis/{group}/{version}/...`, cluster-wide or under `namespaces/{ns}`, a collection or
//! one object, and an optional subresource.

use crate::apiserver::error::ApiError;
use skiff_model::kinds::{ResourceKind, find};

/// A parsed resource URL.
#[derive(Debug)]
pub struct ResourcePath {
    /// The resource type.
    pub kind: &'static ResourceKind,
    /// The namespace, for namespaced kinds addressed within one.
    pub namespace: Option<String>,
    /// The object name; `None` for the collection.
    pub name: Option<String>,
    /// The subresource (`status`, `scale`, `binding`, `log`).
    pub subresource: Option<String>,
}

impl ResourcePath {
    /// Parses a request path; `Ok(None)` when it is not a resource path at all.
    pub fn parse(path: &str) -> Result<Option<Self>, ApiError> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, version, rest) = match segments.as_slice() {
            ["api", version, rest @ ..] if !rest.is_empty() => ("", *version, rest),
            ["apis", group, version, rest @ ..] if !rest.is_empty() => (*group, *version, rest),
            _ => return Ok(None),
        };
        // `namespaces/{ns}/{plural}...` unless it is the Namespace object itself (or its
        // subresource), which has two or three segments and no plural at position 2.
        let (namespace, rest) = match rest {
            ["namespaces", ns, plural, tail @ ..] if find(group, version, plural).is_some() => {
                (Some((*ns).to_string()), {
                    let mut v = vec![*plural];
                    v.extend_from_slice(tail);
                    v
                })
            }
            _ => (None, rest.to_vec()),
        };
        let (plural, name, subresource) = match rest.as_slice() {
            [plural] => (*plural, None, None),
            [plural, name] => (*plural, Some(*name), None),
            [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
            _ => return Err(ApiError::no_route(path)),
        };
        let Some(kind) = find(group, version, plural) else {
            return Err(ApiError::no_route(path));
        };
        if let Some(sub) = subresource
            && !kind.has_subresource(sub)
        {
            return Err(ApiError::no_route(path));
        }
        if namespace.is_some() && !kind.namespaced {
            return Err(ApiError::no_route(path));
        }
        Ok(Some(Self {
            kind,
            namespace,
            name: name.map(str::to_string),
            subresource: subresource.map(str::to_string),
        }))
    }

    /// The name, or a 405 for verbs that need one.
    pub fn require_name(&self) -> Result<&str, ApiError> {
        self.name
            .as_deref()
            .ok_or_else(|| ApiError::method_not_allowed("this verb needs an object name"))
    }

    /// The storage key of the named object.
    pub fn key(&self) -> Result<String, ApiError> {
        let name = self.require_name()?;
        if self.kind.namespaced && self.namespace.is_none() {
            return Err(ApiError::bad_request(format!(
                "{} is namespaced: use /namespaces/{{namespace}}/{}/{name}",
                self.kind.qualified(),
                self.kind.plural
            )));
        }
        Ok(self.kind.key(self.namespace.as_deref(), name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str) -> ResourcePath {
        ResourcePath::parse(path)
            .expect("valid")
            .expect("a resource path")
    }

    #[test]
    fn parses_resource_paths() {
        let p = parse("/api/v1/namespaces/default/pods/web/status");
        assert_eq!(p.kind.kind, "Pod");
        assert_eq!(p.namespace.as_deref(), Some("default"));
        assert_eq!(p.name.as_deref(), Some("web"));
        assert_eq!(p.subresource.as_deref(), Some("status"));

        let p = parse("/apis/apps/v1/deployments");
        assert_eq!(p.kind.kind, "Deployment");
        assert!(p.namespace.is_none() && p.name.is_none());

        let p = parse("/api/v1/namespaces/kube-system");
        assert_eq!(p.kind.kind, "Namespace");
        assert_eq!(p.name.as_deref(), Some("kube-system"));

        let p = parse("/api/v1/namespaces/x/status");
        assert_eq!(p.kind.kind, "Namespace");
        assert_eq!(p.subresource.as_deref(), Some("status"));
    }

    #[test]
    fn rejects_unknown_resources() {
        assert!(ResourcePath::parse("/api/v1/widgets").is_err());
        assert!(ResourcePath::parse("/api/v1/namespaces/a/pods/b/exec").is_err());
        assert!(ResourcePath::parse("/api/v1/namespaces/a/nodes/n").is_err());
        assert!(ResourcePath::parse("/healthz").expect("ok").is_none());
    }
}
