//! [`Attributes`]: what a request asks, in the terms RBAC rules are written in — read from
//! the method, path and query as Kubernetes' `RequestInfoFactory` reads them, so a rule
//! means here what it means on any cluster:
//!
//! - `/api/{version}/...` and `/apis/{group}/{version}/...` with a resource are resource
//!   requests; `/namespaces/{ns}/{resource}/{name}/{subresource}` gives the namespace, and
//!   a Namespace object is its own namespace;
//! - the verb follows the method (`get`, `create`, `update`, `patch`, `delete`); a `get`
//!   without a name is `list`, or `watch` with `watch=true` (or under the old `/watch/`
//!   prefix); a `delete` without a name is `deletecollection`; a list or watch narrowed to
//!   one object by `fieldSelector=metadata.name=N` names it;
//! - every other path (discovery, `/healthz`, `/version`, the module store) is a
//!   non-resource request: the lower-case method and the path.

use crate::apiserver::request::query::url_pairs;
use skiff_model::kinds::ResourceKind;
use std::collections::HashMap;

/// What a request asks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`
    /// (or a non-resource request's lower-case method).
    pub verb: String,
    /// Whether it addresses a resource (else a path).
    pub resource_request: bool,
    /// The API group (`""` for core).
    pub api_group: String,
    /// The API version.
    pub api_version: String,
    /// The resource (plural).
    pub resource: String,
    /// The subresource, if any.
    pub subresource: String,
    /// The namespace (`""` for cluster scope).
    pub namespace: String,
    /// The object name, if one is addressed.
    pub name: String,
    /// The request path.
    pub path: String,
}

impl Attributes {
    /// The attributes of a request.
    pub fn from_request(method: &str, path: &str, query: Option<&str>) -> Self {
        let mut attributes = Attributes {
            verb: method.to_ascii_lowercase(),
            path: path.to_string(),
            ..Attributes::default()
        };
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        if parts.len() < 3 || !matches!(parts[0], "api" | "apis") {
            return attributes;
        }
        let mut rest = &parts[1..];
        if parts[0] == "apis" {
            // One part (the prefix) is gone: this asks for group, version and a resource.
            if rest.len() < 3 {
                return attributes;
            }
            attributes.api_group = rest[0].to_string();
            rest = &rest[1..];
        }
        attributes.resource_request = true;
        attributes.api_version = rest[0].to_string();
        rest = &rest[1..];

        let mut special = None;
        if let Some(&verb @ ("watch" | "proxy")) = rest.first() {
            if rest.len() < 2 {
                // Kubernetes cannot tell the resource either; nothing will be allowed.
                attributes.verb = verb.to_string();
                return attributes;
            }
            special = Some(verb);
            attributes.verb = verb.to_string();
            rest = &rest[1..];
        } else {
            attributes.verb = match method {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            }
            .to_string();
        }

        if rest.first() == Some(&"namespaces")
            && let Some(namespace) = rest.get(1)
        {
            attributes.namespace = (*namespace).to_string();
            if rest.len() > 2 && !matches!(rest[2], "status" | "finalize") {
                rest = &rest[2..];
            }
        }
        if rest.len() >= 3 && special != Some("proxy") {
            attributes.subresource = rest[2].to_string();
        }
        if rest.len() >= 2 {
            attributes.name = rest[1].to_string();
        }
        if let Some(resource) = rest.first() {
            attributes.resource = (*resource).to_string();
        }

        if attributes.name.is_empty() && attributes.verb == "get" {
            let query = url_pairs(query.unwrap_or_default());
            attributes.verb = if watch_asked(&query) { "watch" } else { "list" }.to_string();
            if let Some(name) = field_selected_name(&query) {
                attributes.name = name;
            }
        }
        if attributes.name.is_empty() && attributes.verb == "delete" {
            attributes.verb = "deletecollection".to_string();
        }
        attributes
    }

    /// The attributes of `verb` on `kind` (its `subresource`, in `namespace`, object `name`),
    /// for checks made without a request: the in-process components' and RBAC's own.
    pub fn for_kind(
        verb: &str,
        kind: &ResourceKind,
        subresource: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        Attributes {
            verb: verb.to_string(),
            resource_request: true,
            api_group: kind.group.to_string(),
            api_version: kind.version.to_string(),
            resource: kind.plural.to_string(),
            subresource: subresource.unwrap_or_default().to_string(),
            namespace: namespace.unwrap_or_default().to_string(),
            name: name.unwrap_or_default().to_string(),
            path: String::new(),
        }
    }

    /// `resource` or `resource/subresource`, as rules name it.
    pub fn resource_and_subresource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.clone()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }
}

/// Whether the query asks for a watch (`watch=true`, `1`, anything but `false`/`0`).
fn watch_asked(query: &HashMap<String, String>) -> bool {
    query
        .get("watch")
        .is_some_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "0"))
}

/// The name a `fieldSelector` of exactly `metadata.name=N` (or `==`) picks.
fn field_selected_name(query: &HashMap<String, String>) -> Option<String> {
    let selector = query.get("fieldSelector")?;
    let mut terms = selector.split(',');
    let term = terms.next()?;
    if terms.next().is_some() {
        return None;
    }
    let name = term
        .strip_prefix("metadata.name==")
        .or_else(|| term.strip_prefix("metadata.name="))?;
    (!name.is_empty() && !name.contains('/') && name != "." && name != "..")
        .then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(method: &str, path: &str, query: Option<&str>) -> Attributes {
        Attributes::from_request(method, path, query)
    }

    #[test]
    fn resource_paths_give_verb_group_resource_namespace_and_name() {
        let a = of("GET", "/api/v1/namespaces/team-b/pods", None);
        assert_eq!(
            (
                a.verb.as_str(),
                a.api_group.as_str(),
                a.resource.as_str(),
                a.namespace.as_str()
            ),
            ("list", "", "pods", "team-b")
        );
        assert!(a.resource_request);
        let a = of("GET", "/api/v1/namespaces/team-b/pods/web-1/log", None);
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("get", "web-1"));
        assert_eq!(a.resource_and_subresource(), "pods/log");
        let a = of(
            "PUT",
            "/apis/apps/v1/namespaces/a/deployments/web/scale",
            None,
        );
        assert_eq!(
            (
                a.verb.as_str(),
                a.api_group.as_str(),
                a.resource_and_subresource().as_str()
            ),
            ("update", "apps", "deployments/scale")
        );
        let a = of("DELETE", "/apis/apps/v1/namespaces/a/deployments", None);
        assert_eq!(a.verb, "deletecollection");
        let a = of(
            "POST",
            "/api/v1/namespaces/a/serviceaccounts/default/token",
            None,
        );
        assert_eq!(
            (a.verb.as_str(), a.resource_and_subresource().as_str()),
            ("create", "serviceaccounts/token")
        );
        let a = of("GET", "/api/v1/nodes/n1", None);
        assert_eq!(
            (a.verb.as_str(), a.namespace.as_str(), a.name.as_str()),
            ("get", "", "n1")
        );
    }

    #[test]
    fn a_namespace_is_its_own_namespace() {
        let a = of("GET", "/api/v1/namespaces/team-a", None);
        assert_eq!(
            (a.resource.as_str(), a.name.as_str(), a.namespace.as_str()),
            ("namespaces", "team-a", "team-a")
        );
        let a = of("PUT", "/api/v1/namespaces/team-a/finalize", None);
        assert_eq!(a.resource_and_subresource(), "namespaces/finalize");
        let a = of("GET", "/api/v1/namespaces", None);
        assert_eq!((a.verb.as_str(), a.namespace.as_str()), ("list", ""));
    }

    #[test]
    fn watches_are_told_from_lists_and_may_name_one_object() {
        let a = of(
            "GET",
            "/api/v1/namespaces/a/pods",
            Some("watch=true&resourceVersion=5"),
        );
        assert_eq!(a.verb, "watch");
        let a = of("GET", "/api/v1/namespaces/a/pods", Some("watch=0"));
        assert_eq!(a.verb, "list");
        let a = of("GET", "/api/v1/watch/namespaces/a/pods", None);
        assert_eq!(
            (a.verb.as_str(), a.resource.as_str(), a.namespace.as_str()),
            ("watch", "pods", "a")
        );
        let a = of(
            "GET",
            "/api/v1/namespaces/a/secrets",
            Some("fieldSelector=metadata.name%3Dmine&watch=1"),
        );
        assert_eq!((a.verb.as_str(), a.name.as_str()), ("watch", "mine"));
        let a = of(
            "GET",
            "/api/v1/namespaces/a/secrets",
            Some("fieldSelector=metadata.name%3Dmine,x%3Dy"),
        );
        assert_eq!(a.name, "");
    }

    #[test]
    fn everything_else_is_a_path() {
        for path in [
            "/healthz",
            "/version",
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps",
            "/apis/apps/v1",
            "/skiff/v1/modules/sha256:ab",
        ] {
            let a = of("GET", path, None);
            assert!(!a.resource_request, "{path}");
            assert_eq!((a.verb.as_str(), a.path.as_str()), ("get", path));
        }
        assert_eq!(of("PUT", "/skiff/v1/modules/x", None).verb, "put");
    }
}
