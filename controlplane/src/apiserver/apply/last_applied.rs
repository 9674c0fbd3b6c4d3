//! What Kubernetes does for `kubectl apply --server-side` (field manager `kubectl`) on an
//! object that client-side apply managed, through the
//! `kubectl.kubernetes.io/last-applied-configuration` annotation:
//!
//! - [`allowed_conflicts`]: conflicts on fields the annotation lists with the live value are
//!   not conflicts — kubectl applied them before, just client-side — so the apply is forced
//!   (Kubernetes' `lastAppliedManager`).
//! - [`refresh`]: after such an apply the annotation is rewritten to the applied
//!   configuration, so a later client-side apply computes its patch from it (Kubernetes'
//!   `lastAppliedUpdater`).

use super::compare::compare;
use super::fields::owned_by;
use super::set::FieldSet;
use serde_json::Value;

/// The annotation client-side apply keeps the last applied configuration in.
pub(crate) const ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The field manager `kubectl apply --server-side` uses.
pub(crate) const KUBECTL: &str = "kubectl";

/// Kubernetes' limit on the total size of an object's annotations
/// (`TotalAnnotationSizeLimitB`); a refreshed annotation that breaks it is dropped instead.
const ANNOTATIONS_SIZE_LIMIT: usize = 256 * 1024;

fn annotation(object: &Value) -> Option<&str> {
    object
        .pointer("/metadata/annotations")?
        .get(ANNOTATION)?
        .as_str()
        .filter(|s| !s.is_empty())
}

/// The fields `live`'s annotation lists with their live values; `None` without a usable
/// annotation of `live`'s apiVersion.
pub(crate) fn allowed_conflicts(live: &Value) -> Option<FieldSet> {
    let last: Value = serde_json::from_str(annotation(live)?).ok()?;
    if !last.is_object() || last.get("apiVersion") != live.get("apiVersion") {
        return None;
    }
    let fields = owned_by(&last).ok()?;
    let differences = compare(&last, live);
    Some(
        fields
            .difference(&differences.modified)
            .difference(&differences.added)
            .difference(&differences.removed),
    )
}

/// Rewrites `object`'s annotation, if it has one, to `config` (without the annotation).
pub(crate) fn refresh(object: &mut Value, config: &Value) {
    if annotation(object).is_none() {
        return;
    }
    let mut applied = config.clone();
    if let Some(annotations) = applied
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        annotations.remove(ANNOTATION);
    }
    let Some(annotations) = object
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    annotations.insert(ANNOTATION.to_string(), Value::String(encode(&applied)));
    let size: usize = annotations
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if size > ANNOTATIONS_SIZE_LIMIT {
        annotations.remove(ANNOTATION);
    }
}

/// JSON as Go's encoder writes it for the annotation: sorted keys, HTML characters escaped,
/// a final newline.
fn encode(value: &Value) -> String {
    let mut out = String::new();
    for c in value.to_string().chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn with_annotation(object: Value, last: &Value) -> Value {
        let mut object = object;
        object["metadata"]["annotations"] = json!({ANNOTATION: last.to_string()});
        object
    }

    #[test]
    fn allowed_conflicts_are_fields_applied_with_their_live_value() {
        let last = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"same": "1", "changed": "1"}});
        let live = with_annotation(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                "data": {"same": "1", "changed": "2"}}),
            &last,
        );
        let allowed = allowed_conflicts(&live).expect("an annotation");
        assert_eq!(allowed.to_fields_v1(), json!({"f:data": {"f:same": {}}}));
        let mut other_version = live.clone();
        other_version["apiVersion"] = json!("v2");
        assert!(allowed_conflicts(&other_version).is_none());
    }

    #[test]
    fn refresh_rewrites_only_an_existing_annotation() {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "annotations": {ANNOTATION: "old", "a": "<b>"}}});
        let mut object = with_annotation(json!({"metadata": {}}), &json!({}));
        refresh(&mut object, &config);
        assert_eq!(
            object["metadata"]["annotations"][ANNOTATION],
            "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"annotations\":\
             {\"a\":\"\\u003cb\\u003e\"},\"name\":\"c\"}}\n"
        );
        let mut bare = json!({"metadata": {"annotations": {"a": "1"}}});
        refresh(&mut bare, &config);
        assert_eq!(bare, json!({"metadata": {"annotations": {"a": "1"}}}));
    }
}
