//! The flows kubectl drives: `kubectl apply --server-side` over an object client-side apply
//! managed (then its `kubectl-last-applied` apply of the annotation alone), and the first
//! apply to an object nobody tracked.

use super::tests::*;
use super::*;
use serde_json::json;

#[test]
fn the_first_apply_to_an_untracked_object_conflicts_with_before_first_apply() {
    let untracked = bare(&nginx(3, "nginx:1.14.2"));
    let found = conflicts(apply(
        Some(&untracked),
        &nginx(4, "nginx:1.14.2"),
        "kubectl",
        false,
        T1,
    ));
    assert_eq!(
        found
            .iter()
            .map(|c| (c.manager.as_str(), c.field.as_str()))
            .collect::<Vec<_>>(),
        vec![("before-first-apply", ".spec.replicas")]
    );
    let same = ok(apply(
        Some(&untracked),
        &nginx(3, "nginx:1.14.2"),
        "kubectl",
        false,
        T1,
    ));
    assert_eq!(
        entries(&same),
        vec![
            pair("kubectl", "Apply"),
            pair("before-first-apply", "Update")
        ]
    );
}

/// `kubectl apply` (client-side) of `config`: the annotation, recorded as an update.
fn client_side_apply(live: Option<&Value>, config: &Value, now: &str) -> Value {
    let mut object = config.clone();
    object["metadata"]["annotations"] = json!({last_applied::ANNOTATION: format!("{config}\n")});
    record_update(live, &object, "kubectl-client-side-apply", now)
}

/// The body `kubectl apply --server-side` sends as `kubectl-last-applied` after applying.
fn last_applied_body(object: &Value) -> Value {
    json!({
        "apiVersion": object["apiVersion"],
        "kind": object["kind"],
        "metadata": {
            "name": object["metadata"]["name"],
            "namespace": object["metadata"]["namespace"],
            "annotations": {
                last_applied::ANNOTATION: object["metadata"]["annotations"][last_applied::ANNOTATION]
            }
        }
    })
}

#[test]
fn kubectl_server_side_apply_over_client_side_apply_keeps_everything() {
    let created = client_side_apply(None, &nginx(3, "nginx:1.14.2"), T0);
    assert_eq!(
        entries(&created),
        vec![pair("kubectl-client-side-apply", "Update")]
    );

    // The image differs from what client-side apply owns, but the annotation shows kubectl
    // set it: no conflict.
    let applied = ok(apply(
        Some(&created),
        &nginx(3, "nginx:1.25"),
        "kubectl",
        false,
        T1,
    ));
    assert_eq!(
        applied["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    let annotation = applied["metadata"]["annotations"][last_applied::ANNOTATION]
        .as_str()
        .unwrap_or_default();
    let recorded: Value = serde_json::from_str(annotation).unwrap_or_default();
    assert_eq!(
        recorded,
        nginx(3, "nginx:1.25"),
        "the annotation follows the apply"
    );

    // kubectl's second request: an apply of only the annotation.
    let body = last_applied_body(&applied);
    let after = ok(apply(
        Some(&applied),
        &body,
        "kubectl-last-applied",
        false,
        T2,
    ));
    assert_eq!(bare(&after), bare(&applied));
    assert_eq!(
        entry(&after, "kubectl-last-applied")["fieldsV1"],
        json!({"f:metadata": {"f:annotations": {
            "f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
    );

    // The next `kubectl apply --server-side` drops a label: it goes, the rest stays.
    let mut next = nginx(3, "nginx:1.25");
    next["metadata"]["labels"] = json!({"app": "nginx", "tier": "web"});
    let labelled = ok(apply(Some(&after), &next, "kubectl", false, T3));
    let relabelled = ok(apply(
        Some(&labelled),
        &nginx(3, "nginx:1.25"),
        "kubectl",
        false,
        T3,
    ));
    assert_eq!(relabelled["metadata"]["labels"], json!({"app": "nginx"}));
    assert_eq!(relabelled["spec"]["replicas"], 3);
    let again = ok(apply(
        Some(&relabelled),
        &last_applied_body(&relabelled),
        "kubectl-last-applied",
        false,
        T3,
    ));
    assert_eq!(bare(&again), bare(&relabelled));
}

#[test]
fn kubectl_still_conflicts_on_fields_changed_since_the_client_side_apply() {
    let created = client_side_apply(None, &nginx(3, "nginx:1.14.2"), T0);
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(5);
    let scaled = record_update(Some(&created), &scaled, "kubectl-scale", T1);
    let found = conflicts(apply(
        Some(&scaled),
        &nginx(3, "nginx:1.25"),
        "kubectl",
        false,
        T2,
    ));
    assert_eq!(
        found
            .iter()
            .map(|c| (c.manager.as_str(), c.field.as_str()))
            .collect::<Vec<_>>(),
        vec![("kubectl-scale", ".spec.replicas")]
    );
    // Another field manager gets no such allowance.
    let other = conflicts(apply(
        Some(&created),
        &nginx(3, "nginx:1.25"),
        "helm",
        false,
        T2,
    ));
    assert_eq!(other[0].manager, "kubectl-client-side-apply");
}
