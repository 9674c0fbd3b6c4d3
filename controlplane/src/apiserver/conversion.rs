//! Version conversion: one resource served under several versions and stored in one.
//!
//! A [`ResourceKind`] whose `version` is not its `storage_version` is stored under the same
//! keys as its storage entry, in the storage version. Everything that crosses the API
//! boundary converts here, once: admission turns what a client wrote into the storage
//! version ([`to_storage`]) before defaults and validation; reads, watches, write
//! responses and the current object a patch or update starts from are turned back into
//! the version the client addressed ([`from_storage`]). Tables are printed from the
//! stored object, as Kubernetes prints them from its internal version. A kind needs one
//! [`Hook`] per served non-storage version; kinds served in one version pass through.
//!
//! Parts: [`hpa`] (`autoscaling/v1` ⇄ `autoscaling/v2` HorizontalPodAutoscaler, with the
//! round-trip annotations Kubernetes keeps v2-only fields in) and its metric shapes
//! ([`hpa_metrics`]).

pub mod hpa;
pub mod hpa_metrics;

use serde_json::{Value, json};
use skiff_model::kinds::ResourceKind;

/// How objects of one served version convert to and from the storage version. Both
/// directions are total: what does not carry over is dropped, as Kubernetes' conversion
/// ignores round-trip annotations it cannot parse.
pub struct Hook {
    /// The API group.
    pub group: &'static str,
    /// The served (non-storage) version.
    pub version: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// The served version's object → the storage version's.
    pub to_storage: fn(Value) -> Value,
    /// The storage version's object → the served version's.
    pub from_storage: fn(Value) -> Value,
}

/// Every conversion the API server performs.
pub const HOOKS: &[Hook] = &[Hook {
    group: "autoscaling",
    version: "v1",
    kind: "HorizontalPodAutoscaler",
    to_storage: hpa::v1_to_v2,
    from_storage: hpa::v2_to_v1,
}];

fn hook(kind: &ResourceKind) -> Option<&'static Hook> {
    if kind.is_storage_version() {
        return None;
    }
    HOOKS
        .iter()
        .find(|h| h.group == kind.group && h.version == kind.version && h.kind == kind.kind)
}

/// Whether objects addressed as `kind` are converted on their way to and from the store.
pub fn converts(kind: &ResourceKind) -> bool {
    hook(kind).is_some()
}

/// `object`, written in `kind`'s version, in the storage version (unchanged for kinds
/// served in their storage version).
pub fn to_storage(kind: &ResourceKind, object: Value) -> Value {
    match hook(kind) {
        Some(hook) => {
            let mut out = (hook.to_storage)(object);
            out["apiVersion"] = json!(storage_api_version(kind));
            out
        }
        None => object,
    }
}

/// A stored `object` in `kind`'s version (unchanged for kinds served in their storage
/// version).
pub fn from_storage(kind: &ResourceKind, object: Value) -> Value {
    match hook(kind) {
        Some(hook) => {
            let mut out = (hook.from_storage)(object);
            out["apiVersion"] = json!(kind.api_version());
            out
        }
        None => object,
    }
}

fn storage_api_version(kind: &ResourceKind) -> String {
    if kind.group.is_empty() {
        kind.storage_version.to_string()
    } else {
        format!("{}/{}", kind.group, kind.storage_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_model::kinds::find;

    #[test]
    fn kinds_in_their_storage_version_pass_through() {
        let pods = find("", "v1", "pods").expect("pods");
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        assert!(!converts(pods));
        assert_eq!(to_storage(pods, pod.clone()), pod);
        assert_eq!(from_storage(pods, pod.clone()), pod);
    }

    #[test]
    fn every_non_storage_version_has_a_hook() {
        for kind in skiff_model::kinds::KINDS {
            assert_eq!(
                converts(kind),
                !kind.is_storage_version(),
                "{} {}",
                kind.api_version(),
                kind.kind
            );
        }
    }
}
