//! The create-only reviews: questions about identity and access, answered and never
//! stored, as kube-apiserver answers them.
//!
//! - `authentication.k8s.io` SelfSubjectReview (`v1`, and `v1beta1`/`v1alpha1` for
//!   kubectl 1.27): who am I — `kubectl auth whoami`;
//! - `authorization.k8s.io/v1` SelfSubjectAccessReview (`kubectl auth can-i`),
//!   SelfSubjectRulesReview (`kubectl auth can-i --list`), SubjectAccessReview (may this
//!   other user…, for those allowed to create it: cluster admins) and
//!   LocalSubjectAccessReview (the same, within one namespace: namespace admins).
//!
//! Each answers `201 Created` with the request and its `status`. [`groups`] and
//! [`resource_list`] describe the two groups to discovery.

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::request::body;
use crate::authn::UserInfo;
use crate::authz::{Attributes, Authorizer, Decision};
use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use k8s_openapi::api::rbac::v1::PolicyRule;
use serde_json::{Value, json};
use skiff_model::field::FieldCause;

const AUTHENTICATION: &str = "authentication.k8s.io";
const AUTHORIZATION: &str = "authorization.k8s.io";
/// The versions SelfSubjectReview is served in (v1 since Kubernetes 1.28).
const SELF_SUBJECT_REVIEW_VERSIONS: [&str; 3] = ["v1", "v1beta1", "v1alpha1"];

/// Which review a path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Review {
    /// SelfSubjectReview, in this version.
    SelfSubject(&'static str),
    /// SelfSubjectAccessReview.
    SelfAccess,
    /// SelfSubjectRulesReview.
    SelfRules,
    /// SubjectAccessReview.
    Access,
    /// LocalSubjectAccessReview in this namespace.
    LocalAccess(String),
}

impl Review {
    fn kind(&self) -> &'static str {
        match self {
            Review::SelfSubject(_) => "SelfSubjectReview",
            Review::SelfAccess => "SelfSubjectAccessReview",
            Review::SelfRules => "SelfSubjectRulesReview",
            Review::Access => "SubjectAccessReview",
            Review::LocalAccess(_) => "LocalSubjectAccessReview",
        }
    }

    fn api_version(&self) -> String {
        match self {
            Review::SelfSubject(version) => format!("{AUTHENTICATION}/{version}"),
            _ => format!("{AUTHORIZATION}/v1"),
        }
    }
}

/// The review `path` asks for, or the refusal of `method` (they can only be created);
/// `None` for other paths.
pub fn route(method: &Method, path: &str) -> Option<ApiResult<Review>> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let review = match parts.as_slice() {
        ["apis", AUTHENTICATION, version, "selfsubjectreviews"] => {
            let version = SELF_SUBJECT_REVIEW_VERSIONS
                .iter()
                .find(|v| *v == version)?;
            Review::SelfSubject(version)
        }
        ["apis", AUTHORIZATION, "v1", "selfsubjectaccessreviews"] => Review::SelfAccess,
        ["apis", AUTHORIZATION, "v1", "selfsubjectrulesreviews"] => Review::SelfRules,
        ["apis", AUTHORIZATION, "v1", "subjectaccessreviews"] => Review::Access,
        [
            "apis",
            AUTHORIZATION,
            "v1",
            "namespaces",
            namespace,
            "localsubjectaccessreviews",
        ] => Review::LocalAccess((*namespace).to_string()),
        _ => return None,
    };
    if method != Method::POST {
        return Some(Err(ApiError::method_not_allowed(format!(
            "{method} is not supported on {path}: {}s can only be created",
            review.kind()
        ))));
    }
    Some(Ok(review))
}

/// Answers `review` for `user`.
pub async fn handle(
    authorizer: &Authorizer,
    user: &UserInfo,
    review: Review,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let mut object = body::read_object(headers, body).await?;
    let kind = review.kind();
    let api_version = review.api_version();
    if object
        .get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k != kind)
    {
        return Err(ApiError::bad_request(format!(
            "the body must be a {kind}, not a {}",
            object["kind"]
        )));
    }
    let spec = object.get("spec").cloned().unwrap_or(Value::Null);
    let status = match &review {
        Review::SelfSubject(_) => json!({"userInfo": user_info(user)}),
        Review::SelfAccess => access(authorizer, user, &spec, None, kind)?,
        Review::SelfRules => {
            let namespace = spec.get("namespace").and_then(Value::as_str).unwrap_or("");
            rules(authorizer, user, namespace)
        }
        Review::Access | Review::LocalAccess(_) => {
            let namespace = match &review {
                Review::LocalAccess(namespace) => Some(namespace.as_str()),
                _ => None,
            };
            let subject = subject_of(&spec, kind)?;
            access(authorizer, &subject, &spec, namespace, kind)?
        }
    };
    object["kind"] = json!(kind);
    object["apiVersion"] = json!(api_version);
    if let Review::LocalAccess(namespace) = &review {
        object["metadata"]["namespace"] = json!(namespace);
        object["spec"]["resourceAttributes"]["namespace"] = json!(namespace);
    }
    if object.get("metadata").is_none_or(Value::is_null) {
        object["metadata"] = json!({});
    }
    object["status"] = status;
    Ok((StatusCode::CREATED, Json(object)).into_response())
}

/// `status.userInfo` of a SelfSubjectReview (and of a TokenReview).
pub fn user_info(user: &UserInfo) -> Value {
    let mut info = json!({"username": user.name, "groups": user.groups});
    if !user.uid.is_empty() {
        info["uid"] = json!(user.uid);
    }
    if !user.extra.is_empty() {
        info["extra"] = json!(user.extra);
    }
    info
}

/// The user a SubjectAccessReview asks about.
fn subject_of(spec: &Value, kind: &str) -> ApiResult<UserInfo> {
    let text = |key: &str| {
        spec.get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let groups: Vec<String> = spec
        .get("groups")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_string))
        .collect();
    let user = text("user");
    if user.is_empty() && groups.is_empty() {
        return Err(invalid(
            kind,
            "spec.user",
            "Invalid value: \"\": at least one of user or group must be specified",
        ));
    }
    let mut extra = std::collections::BTreeMap::new();
    if let Some(map) = spec.get("extra").and_then(Value::as_object) {
        for (key, values) in map {
            let values = values
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            extra.insert(key.clone(), values);
        }
    }
    Ok(UserInfo {
        name: user,
        uid: text("uid"),
        groups,
        extra,
    })
}

/// `status` of an access review of `spec` for `user`; a local review's namespace is
/// `namespace`.
fn access(
    authorizer: &Authorizer,
    user: &UserInfo,
    spec: &Value,
    namespace: Option<&str>,
    kind: &str,
) -> ApiResult<Value> {
    let resource = spec.get("resourceAttributes").filter(|v| v.is_object());
    let non_resource = spec.get("nonResourceAttributes").filter(|v| v.is_object());
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("").to_string();
    let attributes = match (resource, non_resource) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                kind,
                "spec.nonResourceAttributes",
                "Invalid value: \"\": cannot be specified in combination with resourceAttributes",
            ));
        }
        (None, None) => {
            return Err(invalid(
                kind,
                "spec.resourceAttributes",
                "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified",
            ));
        }
        (Some(r), None) => {
            let mut ns = text(r, "namespace");
            if let Some(local) = namespace {
                if !ns.is_empty() && ns != local {
                    return Err(invalid(
                        kind,
                        "spec.resourceAttributes.namespace",
                        &format!("Invalid value: {ns:?}: must match metadata.namespace"),
                    ));
                }
                ns = local.to_string();
            }
            Attributes {
                verb: text(r, "verb"),
                resource_request: true,
                api_group: text(r, "group"),
                api_version: text(r, "version"),
                resource: text(r, "resource"),
                subresource: text(r, "subresource"),
                namespace: ns,
                name: text(r, "name"),
                path: String::new(),
            }
        }
        (None, Some(n)) => {
            if namespace.is_some() {
                return Err(invalid(
                    kind,
                    "spec.nonResourceAttributes",
                    "Invalid value: \"\": disallowed on this kind of request",
                ));
            }
            Attributes {
                verb: text(n, "verb"),
                path: text(n, "path"),
                ..Attributes::default()
            }
        }
    };
    let allowed = authorizer.authorize(user, &attributes) == Decision::Allow;
    Ok(json!({"allowed": allowed}))
}

/// `status` of a SelfSubjectRulesReview: the rules `user` holds in `namespace`.
fn rules(authorizer: &Authorizer, user: &UserInfo, namespace: &str) -> Value {
    let (rules, incomplete) = authorizer.rules_for(user, namespace);
    let (mut resource, mut non_resource) = (Vec::new(), Vec::new());
    for PolicyRule {
        verbs,
        api_groups,
        resources,
        resource_names,
        non_resource_urls,
    } in rules
    {
        if let Some(urls) = non_resource_urls.filter(|u| !u.is_empty()) {
            non_resource.push(json!({"verbs": verbs, "nonResourceURLs": urls}));
        }
        if resources.as_ref().is_some_and(|r| !r.is_empty()) {
            let mut rule = json!({"verbs": verbs, "apiGroups": api_groups.unwrap_or_default(),
                "resources": resources});
            if let Some(names) = resource_names.filter(|n| !n.is_empty()) {
                rule["resourceNames"] = json!(names);
            }
            resource.push(rule);
        }
    }
    json!({"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": incomplete})
}

fn invalid(kind: &str, field: &str, message: &str) -> ApiError {
    ApiError::invalid(
        &format!("{kind}.{AUTHORIZATION}"),
        "",
        vec![FieldCause {
            kind: "FieldValueInvalid",
            field: field.to_string(),
            message: message.to_string(),
        }],
    )
}

/// The two groups, for `/apis`.
pub fn groups() -> Vec<Value> {
    let gv = |group: &str, version: &str| json!({"groupVersion": format!("{group}/{version}"), "version": version});
    let authentication: Vec<Value> = SELF_SUBJECT_REVIEW_VERSIONS
        .iter()
        .map(|v| gv(AUTHENTICATION, v))
        .collect();
    vec![
        json!({"name": AUTHENTICATION, "versions": authentication, "preferredVersion": gv(AUTHENTICATION, "v1")}),
        json!({"name": AUTHORIZATION, "versions": [gv(AUTHORIZATION, "v1")], "preferredVersion": gv(AUTHORIZATION, "v1")}),
    ]
}

/// The `APIResourceList` of `group/version`, if it is one of the two.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let resource = |name: &str, kind: &str, namespaced: bool| json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": ["create"]});
    let resources = match group {
        AUTHENTICATION if SELF_SUBJECT_REVIEW_VERSIONS.contains(&version) => {
            vec![resource("selfsubjectreviews", "SelfSubjectReview", false)]
        }
        AUTHORIZATION if version == "v1" => vec![
            resource(
                "localsubjectaccessreviews",
                "LocalSubjectAccessReview",
                true,
            ),
            resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", false),
            resource("selfsubjectrulesreviews", "SelfSubjectRulesReview", false),
            resource("subjectaccessreviews", "SubjectAccessReview", false),
        ],
        _ => return None,
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{group}/{version}"),
        "resources": resources,
    }))
}
