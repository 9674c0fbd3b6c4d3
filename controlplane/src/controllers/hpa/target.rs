//! The HPA's scale target: its kind resolved from `scaleTargetRef` (any served kind with a
//! `scale` subresource), its `Scale` read through the client, and whether the
//! request-driven autoscaler owns it (the Knative class annotation [`CLASS_ANNOTATION`]
//! set to [`KPA_CLASS`] on the object or its pod template, read as the request-driven
//! autoscaler reads it), in which case the HPA leaves it alone.

use crate::controllers::kpa::annotations::Annotations;
pub use crate::controllers::kpa::annotations::{CLASS as CLASS_ANNOTATION, KPA as KPA_CLASS};
use crate::machinery::client::Client;
use k8s_openapi::api::autoscaling::v2::CrossVersionObjectReference;
use serde_json::Value;
use skiff_model::kinds::{self, ResourceKind};
use std::collections::BTreeMap;

/// A target's scale.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its kind.
    pub kind: &'static ResourceKind,
    /// `spec.replicas` of its `Scale`.
    pub spec_replicas: i32,
    /// `status.replicas` of its `Scale`.
    pub status_replicas: i32,
    /// `status.selector` of its `Scale`.
    pub selector: String,
    /// Whether the request-driven autoscaler scales it.
    pub request_driven: bool,
}

/// Resolves `reference` to a served kind with a `scale` subresource. The error is
/// Kubernetes' wording for a kind its REST mapper or scale client does not know.
pub fn resolve(reference: &CrossVersionObjectReference) -> Result<&'static ResourceKind, String> {
    let api_version = reference.api_version.as_deref().unwrap_or("");
    let Some(kind) = kinds::by_kind(api_version, &reference.kind) else {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        return Err(format!(
            "no matches for kind {:?} in group {group:?}",
            reference.kind
        ));
    };
    if !kind.has_subresource("scale") {
        return Err("the server could not find the requested resource".to_string());
    }
    Ok(kind)
}

/// Whether `object` (a Deployment, or anything with a pod template) opts in to the
/// request-driven autoscaler.
pub fn is_request_driven(object: &Value) -> bool {
    let map = |pointer: &str| -> Option<BTreeMap<String, String>> {
        serde_json::from_value(object.pointer(pointer)?.clone()).ok()
    };
    let deployment = map("/metadata/annotations");
    let template = map("/spec/template/metadata/annotations");
    Annotations::new(deployment.as_ref(), template.as_ref()).opted_in()
}

/// Reads the target's `Scale` (and its object, for the opt-in annotation).
pub async fn read(
    client: &Client,
    kind: &'static ResourceKind,
    namespace: &str,
    name: &str,
) -> Result<Target, String> {
    let object = client
        .get_dynamic(kind, Some(namespace), name)
        .await
        .map_err(|e| e.message)?;
    let scale = client
        .get_scale(kind, Some(namespace), name)
        .await
        .map_err(|e| e.message)?;
    let int = |p: &str| {
        scale
            .pointer(p)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0)
    };
    Ok(Target {
        kind,
        spec_replicas: int("/spec/replicas"),
        status_replicas: int("/status/replicas"),
        selector: scale
            .pointer("/status/selector")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        request_driven: is_request_driven(&object),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(api_version: &str, kind: &str) -> CrossVersionObjectReference {
        CrossVersionObjectReference {
            api_version: Some(api_version.to_string()),
            kind: kind.to_string(),
            name: "web".to_string(),
        }
    }

    #[test]
    fn kinds_with_a_scale_subresource_resolve() {
        assert_eq!(
            resolve(&reference("apps/v1", "Deployment")).map(|k| k.plural),
            Ok("deployments")
        );
        assert_eq!(
            resolve(&reference("apps/v1", "ReplicaSet")).map(|k| k.plural),
            Ok("replicasets")
        );
        assert_eq!(
            resolve(&reference("v1", "ConfigMap")).map(|k| k.plural),
            Err("the server could not find the requested resource".to_string())
        );
        assert_eq!(
            resolve(&reference("apps/v1", "StatefulSet")).map(|k| k.plural),
            Err("no matches for kind \"StatefulSet\" in group \"apps\"".to_string())
        );
    }

    #[test]
    fn the_knative_class_annotation_opts_in_on_the_object_or_its_template() {
        let on = |pointer: &str| {
            let mut object = json!({"metadata": {}, "spec": {"template": {"metadata": {}}}});
            object
                .pointer_mut(pointer)
                .expect("path")
                .as_object_mut()
                .expect("object")
                .insert("annotations".into(), json!({CLASS_ANNOTATION: KPA_CLASS}));
            object
        };
        assert!(is_request_driven(&on("/metadata")));
        assert!(is_request_driven(&on("/spec/template/metadata")));
        assert!(!is_request_driven(&json!({"metadata": {"annotations": {
            CLASS_ANNOTATION: "hpa.autoscaling.knative.dev"}}})));
    }
}
