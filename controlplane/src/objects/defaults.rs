//! Kubernetes' defaults, applied on create and update so that objects read back as a
//! Kubernetes user expects (`kubectl get -o yaml` shows `restartPolicy: Always`, a
//! `RollingUpdate` strategy with 25% surge, and so on). Values follow upstream's
//! `pkg/apis/*/v1/defaults.go`.

use serde_json::{Map, Value, json};

/// Applies the defaults of `kind` to `object` in place.
pub fn apply(kind: &str, object: &mut Value) {
    match kind {
        "Pod" => {
            if let Some(spec) = object.get_mut("spec") {
                pod_spec(spec);
            }
            let status = entry(object, "status");
            set(status, "phase", json!("Pending"));
        }
        "Deployment" => {
            let spec = entry(object, "spec");
            set(spec, "replicas", json!(1));
            set(spec, "revisionHistoryLimit", json!(10));
            set(spec, "progressDeadlineSeconds", json!(600));
            let strategy = entry(spec, "strategy");
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type") == Some(&json!("RollingUpdate")) {
                let rolling = entry(strategy, "rollingUpdate");
                set(rolling, "maxSurge", json!("25%"));
                set(rolling, "maxUnavailable", json!("25%"));
            }
            template(spec);
        }
        "ReplicaSet" => {
            let spec = entry(object, "spec");
            set(spec, "replicas", json!(1));
            template(spec);
        }
        "Job" => {
            let spec = entry(object, "spec");
            set(spec, "completions", json!(1));
            set(spec, "parallelism", json!(1));
            set(spec, "backoffLimit", json!(6));
            set(spec, "completionMode", json!("NonIndexed"));
            set(spec, "suspend", json!(false));
            template(spec);
        }
        "Service" => {
            let spec = entry(object, "spec");
            set(spec, "type", json!("ClusterIP"));
            set(spec, "sessionAffinity", json!("None"));
            set(spec, "internalTrafficPolicy", json!("Cluster"));
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for port in ports {
                    set(port, "protocol", json!("TCP"));
                    if let Some(number) = port.get("port").cloned() {
                        set(port, "targetPort", number);
                    }
                }
            }
        }
        "Namespace" => {
            let spec = entry(object, "spec");
            set(spec, "finalizers", json!(["kubernetes"]));
            let status = entry(object, "status");
            set(status, "phase", json!("Active"));
        }
        "Secret" => set(object, "type", json!("Opaque")),
        "HorizontalPodAutoscaler" => {
            let spec = entry(object, "spec");
            set(spec, "minReplicas", json!(1));
            if spec.get("metrics").is_none() {
                spec["metrics"] = json!([{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]);
            }
        }
        _ => {}
    }
}

fn template(spec: &mut Value) {
    if let Some(template_spec) = spec.pointer_mut("/template/spec") {
        pod_spec(template_spec);
    }
}

/// Pod spec defaults, for pods and pod templates.
fn pod_spec(spec: &mut Value) {
    set(spec, "restartPolicy", json!("Always"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "securityContext", json!({}));
    set(spec, "enableServiceLinks", json!(true));
    for list in ["initContainers", "containers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for container in containers {
                container_defaults(container);
            }
        }
    }
}

fn container_defaults(container: &mut Value) {
    let image = container
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    set(container, "imagePullPolicy", json!(pull_policy(&image)));
    set(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    set(container, "terminationMessagePolicy", json!("File"));
    set(container, "resources", json!({}));
    if let Some(ports) = container.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports {
            set(port, "protocol", json!("TCP"));
        }
    }
}

/// `Always` for a `:latest` or untagged image, else `IfNotPresent` — except that a file
/// or digest reference never changes, so it is `IfNotPresent` too.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') || image.starts_with("file://") || image.starts_with("./") {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// The object under `key` in `parent`, created (as `{}`) if missing.
fn entry<'a>(parent: &'a mut Value, key: &str) -> &'a mut Value {
    if !parent.is_object() {
        *parent = Value::Object(Map::new());
    }
    let map = parent.as_object_mut().expect("made an object above");
    let child = map.entry(key).or_insert_with(|| json!({}));
    if child.is_null() {
        *child = json!({});
    }
    child
}

/// Sets `key` to `value` unless it is already set.
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(map) = object.as_object_mut() {
        match map.get(key) {
            Some(existing) if !existing.is_null() => {}
            _ => {
                map.insert(key.to_string(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_gets_kubernetes_defaults() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "registry/app:1.0"}]}}}});
        apply("Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["restartPolicy"], "Always");
        assert_eq!(pod["terminationGracePeriodSeconds"], 30);
        assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
    }

    #[test]
    fn explicit_values_are_kept() {
        let mut d = json!({"spec": {"replicas": 0, "strategy": {"type": "Recreate"}}});
        apply("Deployment", &mut d);
        assert_eq!(d["spec"]["replicas"], 0);
        assert!(d["spec"]["strategy"].get("rollingUpdate").is_none());
    }

    #[test]
    fn pull_policy_follows_the_tag() {
        assert_eq!(pull_policy("app"), "Always");
        assert_eq!(pull_policy("app:latest"), "Always");
        assert_eq!(pull_policy("localhost:5000/app"), "Always");
        assert_eq!(pull_policy("localhost:5000/app:v2"), "IfNotPresent");
        assert_eq!(pull_policy("app@sha256:abcd"), "IfNotPresent");
    }
}
