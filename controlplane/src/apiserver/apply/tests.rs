//! Behaviour of [`apply`] and [`record_update`] end to end, on Deployments and ConfigMaps:
//! creating, re-applying, pruning, sharing, conflicts, forcing, updates. The helpers here
//! serve `list_tests` and `kubectl_tests` too.

use super::*;
use serde_json::json;

pub(super) const T0: &str = "2024-05-01T10:00:00Z";
pub(super) const T1: &str = "2024-05-01T10:01:00Z";
pub(super) const T2: &str = "2024-05-01T10:02:00Z";
pub(super) const T3: &str = "2024-05-01T10:03:00Z";

/// The Deployment of Kubernetes' documentation (`nginx-deployment`).
pub(super) fn nginx(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [
                    {"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}
                ]}
            }
        }
    })
}

/// A config for the same Deployment listing only `spec`.
pub(super) fn partial(spec: Value) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "namespace": "default"},
        "spec": spec
    })
}

pub(super) fn ok(result: Result<Value, ApplyError>) -> Value {
    match result {
        Ok(object) => object,
        Err(e) => panic!("apply failed: {e}"),
    }
}

pub(super) fn conflicts(result: Result<Value, ApplyError>) -> Vec<Conflict> {
    match result {
        Err(ApplyError::Conflicts(conflicts)) => conflicts,
        other => panic!("expected conflicts, got {other:?}"),
    }
}

/// `(manager, operation)` of every managedFields entry, in order.
pub(super) fn entries(object: &Value) -> Vec<(String, String)> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                    (text("manager"), text("operation"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The managedFields entry of `manager`.
pub(super) fn entry<'a>(object: &'a Value, manager: &str) -> &'a Value {
    object["metadata"]["managedFields"]
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["manager"] == manager))
        .unwrap_or_else(|| panic!("no entry for {manager} in {object:#}"))
}

pub(super) fn owns(object: &Value, manager: &str, path: &str) -> bool {
    entry(object, manager).pointer(path).is_some()
}

pub(super) fn pair(manager: &str, operation: &str) -> (String, String) {
    (manager.to_string(), operation.to_string())
}

/// `object` without its managedFields.
pub(super) fn bare(object: &Value) -> Value {
    let mut out = object.clone();
    managers::clear(&mut out);
    out
}

/// A config for the same Deployment listing only its containers.
pub(super) fn containers(items: Value) -> Value {
    partial(json!({"template": {"spec": {"containers": items}}}))
}

#[test]
fn create_by_apply_is_the_config_with_one_apply_entry() {
    let config = nginx(3, "nginx:1.14.2");
    let object = ok(apply(None, &config, "kubectl", false, T0));
    assert_eq!(bare(&object), config);
    assert_eq!(entries(&object), vec![pair("kubectl", "Apply")]);
    let entry = entry(&object, "kubectl");
    assert_eq!(entry["apiVersion"], "apps/v1");
    assert_eq!(entry["fieldsType"], "FieldsV1");
    assert_eq!(entry["time"], T0);
}

#[test]
fn fields_v1_matches_kubernetes_for_the_nginx_deployment() {
    // As `kubectl get deploy nginx-deployment -o json --show-managed-fields` prints it after
    // `kubectl apply --server-side -f nginx-deployment.yaml`.
    let expected = json!({
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                        ".": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                            ".": {},
                            "f:containerPort": {}
                        }}
                    }}}
                }
            }
        },
        "manager": "kubectl",
        "operation": "Apply",
        "time": T0
    });
    let object = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    assert_eq!(object["metadata"]["managedFields"], json!([expected]));
}

#[test]
fn create_by_update_records_added_maps_like_kubernetes() {
    let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "default", "uid": "u1",
            "creationTimestamp": "2024-05-01T10:00:00Z", "labels": {"app": "x"}},
        "data": {"k": "v"}});
    let object = record_update(None, &config_map, "kubectl-create", T0);
    assert_eq!(
        object["metadata"]["managedFields"],
        json!([{
            "apiVersion": "v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:data": {".": {}, "f:k": {}},
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}}
            },
            "manager": "kubectl-create",
            "operation": "Update",
            "time": T0
        }])
    );
    assert_eq!(bare(&object), config_map);
}

#[test]
fn reapply_changes_a_field_and_the_time() {
    let first = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    let second = ok(apply(
        Some(&first),
        &nginx(5, "nginx:1.14.2"),
        "kubectl",
        false,
        T1,
    ));
    assert_eq!(second["spec"]["replicas"], 5);
    assert_eq!(entries(&second), vec![pair("kubectl", "Apply")]);
    assert_eq!(entry(&second, "kubectl")["time"], T1);
    let third = ok(apply(
        Some(&second),
        &nginx(5, "nginx:1.14.2"),
        "kubectl",
        false,
        T2,
    ));
    assert_eq!(third, second, "an unchanged apply keeps the time");
}

#[test]
fn dropping_a_field_from_the_config_removes_it() {
    let mut config = nginx(3, "nginx:1.14.2");
    config["metadata"]["labels"]["tier"] = json!("web");
    let mut live = ok(apply(None, &config, "kubectl", false, T0));
    // A field the server defaulted, which no manager owns.
    live["spec"]["progressDeadlineSeconds"] = json!(600);
    let mut dropped = nginx(3, "nginx:1.14.2");
    dropped["spec"]
        .as_object_mut()
        .map(|spec| spec.remove("replicas"));
    let object = ok(apply(Some(&live), &dropped, "kubectl", false, T1));
    assert_eq!(object["metadata"]["labels"], json!({"app": "nginx"}));
    assert!(object["spec"].get("replicas").is_none());
    assert_eq!(object["spec"]["progressDeadlineSeconds"], 600);
    assert!(!owns(&object, "kubectl", "/fieldsV1/f:spec/f:replicas"));
    assert_eq!(object["metadata"]["name"], "nginx-deployment");
}

#[test]
fn two_appliers_own_different_fields_side_by_side() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "a", false, T0));
    let mut labels = partial(json!({"paused": false}));
    labels["metadata"]["labels"] = json!({"team": "blue"});
    let both = ok(apply(Some(&live), &labels, "b", false, T1));
    assert_eq!(
        both["metadata"]["labels"],
        json!({"app": "nginx", "team": "blue"})
    );
    assert_eq!(entries(&both), vec![pair("a", "Apply"), pair("b", "Apply")]);
    assert!(owns(&both, "a", "/fieldsV1/f:metadata/f:labels/f:app"));
    assert!(!owns(&both, "a", "/fieldsV1/f:metadata/f:labels/f:team"));
    assert!(owns(&both, "b", "/fieldsV1/f:metadata/f:labels/f:team"));
    assert!(owns(&both, "b", "/fieldsV1/f:spec/f:paused"));
    // Re-applying either keeps the other's fields.
    let again = ok(apply(
        Some(&both),
        &nginx(4, "nginx:1.14.2"),
        "a",
        false,
        T2,
    ));
    assert_eq!(again["metadata"]["labels"]["team"], "blue");
    assert_eq!(again["spec"]["paused"], false);
    assert_eq!(again["spec"]["replicas"], 4);
}

#[test]
fn a_changed_field_another_manager_owns_is_a_conflict() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "a", false, T0));
    let err = apply(
        Some(&live),
        &partial(json!({"replicas": 5})),
        "b",
        false,
        T1,
    );
    let found = conflicts(err.clone());
    assert_eq!(
        found,
        vec![Conflict {
            manager: "a".into(),
            operation: "Apply".into(),
            api_version: "apps/v1".into(),
            field: ".spec.replicas".into(),
        }]
    );
    assert_eq!(
        err.map(|_| ()).map_err(|e| e.to_string()),
        Err("Apply failed with 1 conflict: conflict with \"a\": .spec.replicas".to_string())
    );
}

#[test]
fn conflicts_name_keyed_paths_and_group_by_manager() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "a", false, T0));
    let err = apply(Some(&live), &nginx(5, "nginx:1.25"), "b", false, T1);
    let fields: Vec<_> = conflicts(err.clone())
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(
        fields,
        vec![
            ".spec.replicas",
            ".spec.template.spec.containers[name=\"nginx\"].image"
        ]
    );
    assert_eq!(
        err.map(|_| ()).map_err(|e| e.to_string()),
        Err(
            "Apply failed with 2 conflicts: conflicts with \"a\":\n- .spec.replicas\n\
             - .spec.template.spec.containers[name=\"nginx\"].image"
                .to_string()
        )
    );
}

#[test]
fn the_same_value_is_shared_ownership_not_a_conflict() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "a", false, T0));
    let shared = ok(apply(
        Some(&live),
        &partial(json!({"replicas": 3})),
        "b",
        false,
        T1,
    ));
    assert!(owns(&shared, "a", "/fieldsV1/f:spec/f:replicas"));
    assert!(owns(&shared, "b", "/fieldsV1/f:spec/f:replicas"));
    // `a` stops applying replicas: `b` still owns them, so they stay.
    let mut dropped = nginx(3, "nginx:1.14.2");
    dropped["spec"]
        .as_object_mut()
        .map(|spec| spec.remove("replicas"));
    let object = ok(apply(Some(&shared), &dropped, "a", false, T2));
    assert_eq!(object["spec"]["replicas"], 3);
    assert!(!owns(&object, "a", "/fieldsV1/f:spec/f:replicas"));
}

#[test]
fn force_moves_ownership_to_the_applier() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "a", false, T0));
    let forced = ok(apply(
        Some(&live),
        &partial(json!({"replicas": 5})),
        "b",
        true,
        T1,
    ));
    assert_eq!(forced["spec"]["replicas"], 5);
    assert!(!owns(&forced, "a", "/fieldsV1/f:spec/f:replicas"));
    assert!(owns(&forced, "a", "/fieldsV1/f:spec/f:selector"));
    assert!(owns(&forced, "b", "/fieldsV1/f:spec/f:replicas"));
    // Now `a` is the one in conflict.
    let back = conflicts(apply(
        Some(&forced),
        &nginx(3, "nginx:1.14.2"),
        "a",
        false,
        T2,
    ));
    assert_eq!(back.len(), 1);
    assert_eq!(
        (back[0].manager.as_str(), back[0].field.as_str()),
        ("b", ".spec.replicas")
    );
}

#[test]
fn an_update_takes_the_field_it_changed_and_the_applier_then_conflicts() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(5);
    let updated = record_update(Some(&live), &scaled, "kubectl-scale", T1);
    assert_eq!(
        entries(&updated),
        vec![pair("kubectl", "Apply"), pair("kubectl-scale", "Update")]
    );
    assert_eq!(
        entry(&updated, "kubectl-scale")["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert_eq!(entry(&updated, "kubectl-scale")["apiVersion"], "apps/v1");
    assert!(!owns(&updated, "kubectl", "/fieldsV1/f:spec/f:replicas"));
    let err = apply(
        Some(&updated),
        &nginx(3, "nginx:1.14.2"),
        "kubectl",
        false,
        T2,
    );
    let found = conflicts(err.clone());
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].message(),
        "conflict with \"kubectl-scale\" using apps/v1"
    );
    assert_eq!(found[0].field, ".spec.replicas");
    assert_eq!(
        err.map(|_| ()).map_err(|e| e.to_string()),
        Err(
            "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: \
             .spec.replicas"
                .to_string()
        )
    );
    // Applying the live value is no conflict.
    ok(apply(
        Some(&updated),
        &nginx(5, "nginx:1.14.2"),
        "kubectl",
        false,
        T2,
    ));
}

#[test]
fn updates_by_one_manager_accumulate_and_unchanged_writes_record_nothing() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    let unchanged = record_update(Some(&live), &live, "editor", T1);
    assert_eq!(unchanged, live);
    let mut first = live.clone();
    first["spec"]["replicas"] = json!(4);
    let first = record_update(Some(&live), &first, "editor", T1);
    let mut second = first.clone();
    second["spec"]["paused"] = json!(true);
    let second = record_update(Some(&first), &second, "editor", T2);
    assert_eq!(
        entries(&second),
        vec![pair("kubectl", "Apply"), pair("editor", "Update")]
    );
    assert_eq!(
        entry(&second, "editor")["fieldsV1"],
        json!({"f:spec": {"f:paused": {}, "f:replicas": {}}})
    );
    assert_eq!(entry(&second, "editor")["time"], T2);
}

#[test]
fn removing_fields_takes_them_from_every_manager() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    let mut edited = live.clone();
    edited["metadata"]
        .as_object_mut()
        .map(|m| m.remove("labels"));
    let object = record_update(Some(&live), &edited, "kubectl-edit", T1);
    assert!(!owns(&object, "kubectl", "/fieldsV1/f:metadata"));
    assert_eq!(
        entries(&object),
        vec![pair("kubectl", "Apply")],
        "a write that only removes owns nothing"
    );
}

#[test]
fn untracked_objects_stay_untracked_until_applied_and_given_managed_fields_win() {
    let untracked = bare(&nginx(3, "nginx:1.14.2"));
    let mut scaled = untracked.clone();
    scaled["spec"]["replicas"] = json!(4);
    assert_eq!(record_update(Some(&untracked), &scaled, "x", T0), scaled);

    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    let mut cleared = live.clone();
    cleared["metadata"]["managedFields"] = json!([{}]);
    let object = record_update(Some(&live), &cleared, "kubectl-patch", T1);
    assert!(object["metadata"].get("managedFields").is_none());
}

#[test]
fn status_and_server_metadata_are_never_owned() {
    let mut live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    live["metadata"]["uid"] = json!("u1");
    live["metadata"]["resourceVersion"] = json!("7");
    live["status"] = json!({"replicas": 3});
    let mut config = nginx(3, "nginx:1.14.2");
    config["status"] = json!({"replicas": 99});
    config["metadata"]["resourceVersion"] = json!("7");
    let object = ok(apply(Some(&live), &config, "kubectl", false, T1));
    assert_eq!(object["status"], json!({"replicas": 3}));
    assert_eq!(object["metadata"]["uid"], "u1");
    assert_eq!(object["metadata"]["resourceVersion"], "7");
    let trie = &entry(&object, "kubectl")["fieldsV1"];
    assert!(trie.get("f:status").is_none() && trie.get("f:apiVersion").is_none());
    assert!(trie["f:metadata"].get("f:name").is_none());
    assert!(trie["f:metadata"].get("f:resourceVersion").is_none());
}

#[test]
fn invalid_configs_are_refused() {
    let invalid = |live: Option<&Value>, config: Value| match apply(live, &config, "m", false, T0) {
        Err(ApplyError::Invalid(message)) => message,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let mut with_managed = nginx(3, "x");
    with_managed["metadata"]["managedFields"] = json!([]);
    assert_eq!(
        invalid(None, with_managed),
        "metadata.managedFields must be nil"
    );
    let mut kindless = nginx(3, "x");
    kindless.as_object_mut().map(|o| o.remove("kind"));
    assert!(invalid(None, kindless).contains("kind"));
    assert!(invalid(None, json!([1])).contains("object"));
    let twice = containers(json!([{"name": "a"}, {"name": "a"}]));
    assert_eq!(
        invalid(None, twice),
        ".spec.template.spec.containers: duplicate entries for key [name=\"a\"]"
    );
    let live = ok(apply(None, &nginx(3, "x"), "m", false, T0));
    let mut other_kind = nginx(3, "x");
    other_kind["kind"] = json!("StatefulSet");
    assert!(invalid(Some(&live), other_kind).contains("invalid object type"));
}
