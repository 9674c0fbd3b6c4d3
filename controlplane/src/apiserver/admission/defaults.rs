//! Kubernetes' defaults, applied on create and update so that objects read back as a
//! Kubernetes user expects (`kubectl get -o yaml` shows `restartPolicy: Always`, a
//! `RollingUpdate` strategy with 25% surge, and so on). Values follow upstream's
//! `pkg/apis/*/v1/defaults.go`.

use serde_json::{Map, Value, json};
use skiff_model::labels::{
    CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL,
};

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
        "Job" => job(object),
        "Service" => {
            let spec = entry(object, "spec");
            set(spec, "type", json!("ClusterIP"));
            set(spec, "sessionAffinity", json!("None"));
            set(spec, "internalTrafficPolicy", json!("Cluster"));
            let kind = spec
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if kind == "NodePort" || kind == "LoadBalancer" {
                set(spec, "externalTrafficPolicy", json!("Cluster"));
            }
            if kind == "LoadBalancer" {
                set(spec, "allocateLoadBalancerNodePorts", json!(true));
            }
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
        "Secret" => {
            set(object, "type", json!("Opaque"));
            fold_string_data(object);
        }
        "HorizontalPodAutoscaler" => {
            let spec = entry(object, "spec");
            set(spec, "minReplicas", json!(1));
            if spec
                .get("metrics")
                .is_none_or(|m| m.as_array().is_none_or(Vec::is_empty))
            {
                spec["metrics"] = json!([{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]);
            }
            hpa_behavior(spec);
        }
        _ => {}
    }
}

/// A HorizontalPodAutoscaler's `behavior`, when it has one, filled in as Kubernetes'
/// `SetDefaults_HorizontalPodAutoscalerBehavior` does: scale-up at most 4 pods or 100 %
/// per 15 s, whichever is more, with no stabilization; scale-down 100 % per 15 s, its
/// stabilization window left to the controller's `--horizontal-pod-autoscaler-downscale-
/// stabilization`. An HPA without `behavior` keeps none (the controller's older rules).
fn hpa_behavior(spec: &mut Value) {
    let Some(behavior) = spec.get_mut("behavior").filter(|b| b.is_object()) else {
        return;
    };
    let up = entry(behavior, "scaleUp");
    set(up, "stabilizationWindowSeconds", json!(0));
    set(up, "selectPolicy", json!("Max"));
    if up
        .get("policies")
        .is_none_or(|p| p.as_array().is_none_or(Vec::is_empty))
    {
        up["policies"] = json!([
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ]);
    }
    let down = entry(behavior, "scaleDown");
    set(down, "selectPolicy", json!("Max"));
    if down
        .get("policies")
        .is_none_or(|p| p.as_array().is_none_or(Vec::is_empty))
    {
        down["policies"] = json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]);
    }
}

/// Job defaults, and the selector Kubernetes generates at creation: the pods of a Job are
/// selected by its UID (`batch.kubernetes.io/controller-uid`) and labelled with its name,
/// unless the user chose `manualSelector`. The UID is already set when defaults run.
fn job(object: &mut Value) {
    let template_labels = object.pointer("/spec/template/metadata/labels").cloned();
    let labels_empty = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty);
    if let Some(labels) = template_labels.filter(|l| l.is_object())
        && labels_empty
    {
        entry(object, "metadata")["labels"] = labels;
    }
    let name = object.pointer("/metadata/name").cloned();
    let uid = object.pointer("/metadata/uid").cloned();
    let spec = entry(object, "spec");
    // A Job with neither is one pod run once; with only `parallelism` it is a work queue.
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        set(spec, "completions", json!(1));
    }
    set(spec, "parallelism", json!(1));
    set(spec, "backoffLimit", json!(6));
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    if spec.get("podFailurePolicy").is_none_or(Value::is_null) {
        set(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    }
    set(spec, "manualSelector", json!(false));
    if spec.get("manualSelector") == Some(&json!(false))
        && let (Some(name), Some(uid)) = (name, uid)
    {
        let labels = entry(entry(entry(spec, "template"), "metadata"), "labels");
        for key in [JOB_NAME_LABEL, LEGACY_JOB_NAME_LABEL] {
            set(labels, key, name.clone());
        }
        for key in [CONTROLLER_UID_LABEL, LEGACY_CONTROLLER_UID_LABEL] {
            set(labels, key, uid.clone());
        }
        let selector = entry(entry(spec, "selector"), "matchLabels");
        set(selector, CONTROLLER_UID_LABEL, uid);
    }
    template(spec);
}

/// A Secret's `stringData` is write-only: its entries are base64-encoded into `data`
/// (overriding keys of the same name), and it is not stored.
fn fold_string_data(secret: &mut Value) {
    use base64::Engine as _;
    let Some(string_data) = secret.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return;
    };
    let Value::Object(entries) = string_data else {
        return;
    };
    let data = entry(secret, "data");
    for (key, value) in entries {
        if let Some(text) = value.as_str() {
            data[key] = json!(base64::engine::general_purpose::STANDARD.encode(text));
        }
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
    for name in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = container.get_mut(name).filter(|p| p.is_object()) {
            probe_defaults(probe);
        }
    }
}

/// Kubernetes' probe defaults: a 1 s timeout, every 10 s, ready after one success, failed
/// after three failures; an HTTP GET of `/`.
fn probe_defaults(probe: &mut Value) {
    set(probe, "timeoutSeconds", json!(1));
    set(probe, "periodSeconds", json!(10));
    set(probe, "successThreshold", json!(1));
    set(probe, "failureThreshold", json!(3));
    if let Some(get) = probe.get_mut("httpGet").filter(|g| g.is_object()) {
        set(get, "scheme", json!("HTTP"));
        if get.get("path").and_then(Value::as_str) == Some("") {
            get["path"] = json!("/");
        }
        set(get, "path", json!("/"));
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
    #[test]
    fn secret_string_data_is_folded_into_data() {
        let mut secret = serde_json::json!({
            "kind": "Secret",
            "data": {"a": "b2xk", "keep": "eA=="},
            "stringData": {"a": "new", "token": "s3cr3t"},
        });
        apply("Secret", &mut secret);
        assert!(secret.get("stringData").is_none());
        assert_eq!(secret["data"]["a"], "bmV3");
        assert_eq!(secret["data"]["token"], "czNjcjN0");
        assert_eq!(secret["data"]["keep"], "eA==");
        assert_eq!(secret["type"], "Opaque");
    }

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
    fn a_job_selects_its_pods_by_its_uid() {
        let mut job = json!({"metadata": {"name": "pi", "uid": "u-1"},
            "spec": {"template": {"metadata": {"labels": {"app": "pi"}},
                                  "spec": {"restartPolicy": "Never", "containers": []}}}});
        apply("Job", &mut job);
        assert_eq!(job["metadata"]["labels"], json!({"app": "pi"}));
        let spec = &job["spec"];
        assert_eq!(spec["completions"], 1);
        assert_eq!(spec["parallelism"], 1);
        assert_eq!(spec["manualSelector"], false);
        assert_eq!(
            spec["selector"]["matchLabels"],
            json!({"batch.kubernetes.io/controller-uid": "u-1"})
        );
        let labels = &spec["template"]["metadata"]["labels"];
        assert_eq!(labels["app"], "pi");
        assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
        assert_eq!(labels["job-name"], "pi");
        assert_eq!(labels["batch.kubernetes.io/controller-uid"], "u-1");
        assert_eq!(labels["controller-uid"], "u-1");
    }

    #[test]
    fn a_job_with_only_parallelism_is_a_work_queue() {
        let mut job = json!({"metadata": {"name": "q", "uid": "u"}, "spec": {"parallelism": 3}});
        apply("Job", &mut job);
        assert!(job["spec"].get("completions").is_none());
        assert_eq!(job["spec"]["parallelism"], 3);
    }

    #[test]
    fn a_manual_selector_is_left_alone() {
        let mut job = json!({"metadata": {"name": "m", "uid": "u"}, "spec": {"manualSelector": true,
            "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}}}});
        apply("Job", &mut job);
        assert_eq!(job["spec"]["selector"], json!({"matchLabels": {"a": "b"}}));
        assert_eq!(
            job["spec"]["template"]["metadata"]["labels"],
            json!({"a": "b"})
        );
    }

    #[test]
    fn probes_get_kubernetes_defaults() {
        let mut pod = json!({"spec": {"containers": [{"name": "c", "image": "./a.wasm",
            "readinessProbe": {"httpGet": {"port": 8080}, "periodSeconds": 2},
            "livenessProbe": {"tcpSocket": {"port": 8080}}}]}});
        apply("Pod", &mut pod);
        let readiness = &pod["spec"]["containers"][0]["readinessProbe"];
        assert_eq!(readiness["periodSeconds"], 2);
        assert_eq!(readiness["timeoutSeconds"], 1);
        assert_eq!(readiness["successThreshold"], 1);
        assert_eq!(readiness["failureThreshold"], 3);
        assert_eq!(readiness["httpGet"]["path"], "/");
        assert_eq!(readiness["httpGet"]["scheme"], "HTTP");
        let liveness = &pod["spec"]["containers"][0]["livenessProbe"];
        assert_eq!(liveness["periodSeconds"], 10);
        assert!(liveness.get("httpGet").is_none());
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
