//! RBAC's escalation prevention, as Kubernetes' RBAC storage enforces it on every write
//! of a role or binding (create, update, patch, apply): nobody grants what they do not
//! hold.
//!
//! - A Role or ClusterRole may be written by a user who holds every permission it grants
//!   (in its namespace; cluster-wide for a ClusterRole), or who may `escalate` it. A
//!   ClusterRole with an `aggregationRule` takes in whatever it selects, so writing one
//!   needs full authority.
//! - A RoleBinding or ClusterRoleBinding may be written by a user who holds every
//!   permission of the role it refers to (where the binding applies), or who may `bind`
//!   that role. Its `roleRef` cannot change after creation.
//!
//! `system:masters` hold everything; the in-process components (no requester) are the
//! API server's own. A refusal is a 403 naming what is missing, in Kubernetes' words.

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::ApiState;
use crate::authn::UserInfo;
use crate::authn::user::MASTERS;
use crate::authz::authorizer::everything;
use crate::authz::policy::RBAC_GROUP;
use crate::authz::rbac::rules::{compact, uncovered};
use crate::authz::{Attributes, Decision};
use k8s_openapi::api::rbac::v1::{PolicyRule, RoleRef};
use serde_json::Value;
use skiff_model::field::FieldCause;
use skiff_model::kinds::{ResourceKind, find};

/// Checks a write of `new` (replacing `old`, if any) by `user` in `namespace`.
pub fn check(
    state: &ApiState,
    user: Option<&UserInfo>,
    kind: &ResourceKind,
    namespace: Option<&str>,
    old: Option<&Value>,
    new: &Value,
) -> ApiResult<()> {
    if kind.group != RBAC_GROUP {
        return Ok(());
    }
    let name = new
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let binding = matches!(kind.kind, "RoleBinding" | "ClusterRoleBinding");
    if binding
        && let Some(old) = old
        && old.get("roleRef") != new.get("roleRef")
    {
        return Err(ApiError::invalid(
            &kind.qualified(),
            name,
            vec![FieldCause {
                kind: "FieldValueInvalid",
                field: "roleRef".into(),
                message: format!(
                    "Invalid value: {}: cannot change roleRef",
                    new.get("roleRef").cloned().unwrap_or(Value::Null)
                ),
            }],
        ));
    }
    let Some(user) = user.filter(|u| !u.in_group(MASTERS)) else {
        return Ok(());
    };
    let authorizer = &state.authorizer;
    let Some(resolver) = authorizer.resolver() else {
        return Ok(());
    };
    let namespace = namespace.unwrap_or("");
    let may = |verb: &str, resource: &str, name: &str| {
        find(RBAC_GROUP, "v1", resource).is_some_and(|kind| {
            let attributes = Attributes::for_kind(verb, kind, None, Some(namespace), Some(name));
            authorizer.authorize(user, &attributes) == Decision::Allow
        })
    };
    let (held, _) = resolver.rules_for(user, namespace);
    let forbidden = |why: String| {
        ApiError::forbidden(format!(
            "{} \"{name}\" is forbidden: {why}",
            kind.qualified()
        ))
        .with_details(kind.group, kind.plural, name)
    };
    let granted: Vec<PolicyRule> = if binding {
        let role: RoleRef = serde_json::from_value(new.get("roleRef").cloned().unwrap_or_default())
            .map_err(|e| ApiError::bad_request(format!("roleRef: {e}")))?;
        let resource = if role.kind == "ClusterRole" {
            "clusterroles"
        } else {
            "roles"
        };
        if may("bind", resource, &role.name) {
            return Ok(());
        }
        resolver.role_rules(&role, namespace).ok_or_else(|| {
            forbidden(format!("{resource}.{RBAC_GROUP} {:?} not found", role.name))
        })?
    } else {
        if may("escalate", kind.plural, name) {
            return Ok(());
        }
        if new.get("aggregationRule").is_some_and(|r| !r.is_null()) {
            if uncovered(&held, &[everything()]).is_empty() {
                return Ok(());
            }
            return Err(forbidden(
                "must have cluster-admin privileges to use the aggregationRule".into(),
            ));
        }
        serde_json::from_value(
            new.get("rules")
                .cloned()
                .unwrap_or(Value::Array(Vec::new())),
        )
        .map_err(|e| ApiError::bad_request(format!("rules: {e}")))?
    };
    let missing = uncovered(&held, &granted);
    if missing.is_empty() {
        return Ok(());
    }
    let groups: Vec<String> = user.groups.iter().map(|g| format!("{g:?}")).collect();
    Err(forbidden(format!(
        "user {:?} (groups=[{}]) is attempting to grant RBAC permissions not currently held:\n{}",
        user.name,
        groups.join(" "),
        compact(&missing)
    )))
}
