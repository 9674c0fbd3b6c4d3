//! Ownership of keyed lists and sets: containers by name, ports by port and protocol,
//! finalizers by value.

use super::tests::*;
use super::*;
use serde_json::json;

#[test]
fn managers_own_different_containers_and_dropping_one_removes_only_unshared_ones() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "a", false, T0));
    let with_sidecar = ok(apply(
        Some(&live),
        &containers(json!([{"name": "sidecar", "image": "envoy:1"}])),
        "b",
        false,
        T1,
    ));
    let names = |object: &Value| -> Vec<String> {
        object["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(|c| {
                c.iter()
                    .filter_map(|c| c["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(&with_sidecar), vec!["nginx", "sidecar"]);
    let nginx_key = "/fieldsV1/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"nginx\"}";
    let sidecar_key = "/fieldsV1/f:spec/f:template/f:spec/f:containers/k:{\"name\":\"sidecar\"}";
    assert!(owns(&with_sidecar, "a", nginx_key) && !owns(&with_sidecar, "a", sidecar_key));
    assert!(owns(&with_sidecar, "b", sidecar_key) && !owns(&with_sidecar, "b", nginx_key));

    // `a` re-applies: the sidecar it never owned stays.
    let again = ok(apply(
        Some(&with_sidecar),
        &nginx(3, "nginx:1.14.2"),
        "a",
        false,
        T2,
    ));
    assert_eq!(names(&again), vec!["nginx", "sidecar"]);

    // `b` drops its sidecar, which nobody else owns: it goes.
    let dropped = ok(apply(
        Some(&again),
        &partial(json!({"paused": false})),
        "b",
        false,
        T3,
    ));
    assert_eq!(names(&dropped), vec!["nginx"]);
    assert_eq!(
        dropped["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
}

#[test]
fn a_dropped_container_another_manager_also_applies_stays() {
    let live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "a", false, T0));
    let shared = ok(apply(
        Some(&live),
        &containers(json!([{"name": "nginx", "image": "nginx:1.14.2"}])),
        "b",
        false,
        T1,
    ));
    let mut without = nginx(3, "nginx:1.14.2");
    without["spec"]["template"]["spec"]["containers"] = json!([]);
    let object = ok(apply(Some(&shared), &without, "a", false, T2));
    let kept = &object["spec"]["template"]["spec"]["containers"];
    assert_eq!(kept, &json!([{"name": "nginx", "image": "nginx:1.14.2"}]));
}

#[test]
fn container_ports_match_by_defaulted_protocol() {
    let mut live = ok(apply(None, &nginx(3, "nginx:1.14.2"), "kubectl", false, T0));
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
    let object = ok(apply(
        Some(&live),
        &nginx(3, "nginx:1.25"),
        "kubectl",
        false,
        T1,
    ));
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    assert_eq!(
        object["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
}

#[test]
fn finalizers_are_owned_item_by_item() {
    let mut config = nginx(3, "nginx:1.14.2");
    config["metadata"]["finalizers"] = json!(["a.example.com/x"]);
    let live = ok(apply(None, &config, "kubectl", false, T0));
    let mut added = live.clone();
    added["metadata"]["finalizers"] = json!(["a.example.com/x", "b.example.com/y"]);
    let added = record_update(Some(&live), &added, "controller", T1);
    assert_eq!(
        entry(&added, "controller")["fieldsV1"],
        json!({"f:metadata": {"f:finalizers": {"v:\"b.example.com/y\"": {}}}})
    );
    let object = ok(apply(
        Some(&added),
        &nginx(3, "nginx:1.14.2"),
        "kubectl",
        false,
        T2,
    ));
    assert_eq!(object["metadata"]["finalizers"], json!(["b.example.com/y"]));
}
