//! `skiff server` driven by the real `kubectl`: apply (client- and server-side), create,
//! replace, get in every output, watch, describe, delete in every form, scale, label,
//! annotate, patch, api-resources — and durability across a restart.

use crate::cluster::Server;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ./http-hello.wasm
";

const CONFIGMAP: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {tier: config}
data:
  color: teal
";

#[test]
fn apply_reapply_and_defaults() {
    let server = Server::start();
    let file = server.manifest("web.yaml", DEPLOYMENT);
    let file = file.to_str().expect("utf8");
    assert!(
        server
            .ok(&["apply", "-f", file])
            .contains("deployment.apps/web created")
    );
    assert!(
        server
            .ok(&["apply", "-f", file])
            .contains("deployment.apps/web unchanged")
    );

    let yaml = server.ok(&["get", "deployment", "web", "-o", "yaml"]);
    for default in [
        "restartPolicy: Always",
        "terminationGracePeriodSeconds: 30",
        "type: RollingUpdate",
        "maxSurge: 25%",
        "revisionHistoryLimit: 10",
        "imagePullPolicy: IfNotPresent",
        "generation: 1",
    ] {
        assert!(yaml.contains(default), "missing {default:?} in:\n{yaml}");
    }

    let changed = server.manifest(
        "web2.yaml",
        &DEPLOYMENT.replace("replicas: 1", "replicas: 3"),
    );
    let out = server.ok(&["apply", "-f", changed.to_str().expect("utf8")]);
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    assert_eq!(
        server.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.generation}"
        ]),
        "2"
    );
}

#[test]
fn server_side_apply_creates_and_updates() {
    let server = Server::start();
    let file = server.manifest("cm.yaml", CONFIGMAP);
    let file = file.to_str().expect("utf8");
    let out = server.ok(&["apply", "--server-side", "-f", file]);
    assert!(
        out.contains("configmap/settings serverside-applied"),
        "{out}"
    );
    let changed = server.manifest("cm2.yaml", &CONFIGMAP.replace("teal", "navy"));
    server.ok(&[
        "apply",
        "--server-side",
        "-f",
        changed.to_str().expect("utf8"),
    ]);
    assert_eq!(
        server.ok(&["get", "cm", "settings", "-o", "jsonpath={.data.color}"]),
        "navy"
    );
}

#[test]
fn server_side_apply_owns_fields_and_reports_conflicts() {
    let server = Server::start();
    let file = server.manifest("web.yaml", DEPLOYMENT);
    let file = file.to_str().expect("utf8");
    server.ok(&["apply", "--server-side", "-f", file]);
    let managers = server.ok(&[
        "get",
        "deploy",
        "web",
        "--show-managed-fields",
        "-o",
        "jsonpath={.metadata.managedFields[?(@.operation==\"Apply\")].manager}",
    ]);
    // The applier owns what it applied (the deployment controller's own writes are
    // Update entries beside it).
    assert_eq!(managers, "kubectl");
    // Another manager takes spec.replicas...
    server.ok(&["scale", "deployment/web", "--replicas=3"]);
    // ...so applying a different value conflicts, naming the owner and the field.
    let changed = server.manifest(
        "web5.yaml",
        &DEPLOYMENT.replace("replicas: 1", "replicas: 5"),
    );
    let changed = changed.to_str().expect("utf8");
    let err = server.fails(&["apply", "--server-side", "-f", changed]);
    assert!(
        err.contains("conflict") && err.contains(".spec.replicas"),
        "{err}"
    );
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3"
    );
    server.ok(&["apply", "--server-side", "--force-conflicts", "-f", changed]);
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "5"
    );
    // Dropping a field from the applied config removes it.
    let labelled = DEPLOYMENT.replace(
        "  labels: {app: web}\nspec:",
        "  labels: {app: web, extra: x}\nspec:",
    );
    let labelled = server.manifest(
        "labelled.yaml",
        &labelled.replace("replicas: 1", "replicas: 5"),
    );
    server.ok(&[
        "apply",
        "--server-side",
        "-f",
        labelled.to_str().expect("utf8"),
    ]);
    assert_eq!(
        server.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.labels.extra}"
        ]),
        "x"
    );
    server.ok(&["apply", "--server-side", "-f", changed]);
    assert_eq!(
        server.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.labels.extra}"
        ]),
        ""
    );
}

#[test]
fn create_replace_delete_by_file() {
    let server = Server::start();
    let file = server.manifest("cm.yaml", CONFIGMAP);
    let file = file.to_str().expect("utf8");
    assert!(
        server
            .ok(&["create", "-f", file])
            .contains("configmap/settings created")
    );
    let err = server.fails(&["create", "-f", file]);
    assert!(
        err.contains("AlreadyExists") || err.contains("already exists"),
        "{err}"
    );
    let replaced = server.manifest("cm2.yaml", &CONFIGMAP.replace("teal", "red"));
    assert!(
        server
            .ok(&["replace", "-f", replaced.to_str().expect("utf8")])
            .contains("replaced")
    );
    assert_eq!(
        server.ok(&["get", "cm", "settings", "-o", "jsonpath={.data.color}"]),
        "red"
    );
    assert!(server.ok(&["delete", "-f", file]).contains("deleted"));
    let err = server.fails(&["get", "cm", "settings"]);
    assert!(
        err.contains("NotFound") && err.contains("\"settings\" not found"),
        "{err}"
    );
}

#[test]
fn get_outputs_selectors_and_namespaces() {
    let server = Server::start();
    server.ok(&["create", "namespace", "team-a"]);
    server.ok(&[
        "create",
        "configmap",
        "one",
        "--from-literal=a=1",
        "-n",
        "team-a",
    ]);
    server.ok(&[
        "create",
        "configmap",
        "two",
        "--from-literal=a=2",
        "--from-literal=b=3",
    ]);
    server.ok(&["label", "configmap", "two", "tier=web"]);

    let table = server.ok(&["get", "configmaps"]);
    let header = table.lines().next().expect("a header");
    assert!(
        header.starts_with("NAME") && header.contains("DATA") && header.contains("AGE"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("two ") && l.contains(" 2 ")),
        "{table}"
    );

    let all = server.ok(&["get", "cm", "-A"]);
    assert!(
        all.lines().next().expect("header").starts_with("NAMESPACE"),
        "{all}"
    );
    assert!(
        all.lines()
            .any(|l| l.starts_with("team-a") && l.contains("one")),
        "{all}"
    );

    assert_eq!(
        server.ok(&["get", "cm", "-l", "tier=web", "-o", "name"]),
        "configmap/two\n"
    );
    assert_eq!(
        server.ok(&["get", "cm", "-l", "tier notin (web)", "-o", "name"]),
        ""
    );
    assert_eq!(
        server.ok(&[
            "get",
            "cm",
            "--field-selector",
            "metadata.name=two",
            "-o",
            "name"
        ]),
        "configmap/two\n"
    );
    let json = server.ok(&["get", "cm", "two", "-o", "json"]);
    assert!(json.contains("\"kind\": \"ConfigMap\""), "{json}");
    let wide = server.ok(&["get", "namespaces", "-o", "wide"]);
    for ns in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "team-a",
    ] {
        assert!(wide.contains(ns), "{ns} missing: {wide}");
    }
    let err = server.fails(&["get", "cm", "--field-selector", "data.a=1"]);
    assert!(err.contains("field label not supported"), "{err}");
}

#[test]
fn watch_observes_a_change() {
    let server = Server::start();
    server.ok(&["create", "configmap", "watched", "--from-literal=v=1"]);
    let mut child = server
        .kubectl_command()
        .args([
            "get",
            "configmap",
            "watched",
            "-w",
            "-o",
            "jsonpath={.data.v}{\"\\n\"}",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn kubectl get -w");
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    assert_eq!(rx.recv_timeout(crate::WAIT).expect("initial state"), "1");
    server.ok(&[
        "patch",
        "configmap",
        "watched",
        "-p",
        r#"{"data":{"v":"2"}}"#,
    ]);
    assert_eq!(rx.recv_timeout(crate::WAIT).expect("the change"), "2");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn scale_label_annotate_and_patch() {
    let server = Server::start();
    let file = server.manifest("web.yaml", DEPLOYMENT);
    server.ok(&["apply", "-f", file.to_str().expect("utf8")]);
    assert!(
        server
            .ok(&["scale", "deployment/web", "--replicas=4"])
            .contains("scaled")
    );
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "4"
    );
    server.ok(&[
        "scale",
        "deployment/web",
        "--replicas=2",
        "--current-replicas=4",
    ]);
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "2"
    );

    server.ok(&["label", "deploy", "web", "team=blue"]);
    server.ok(&["annotate", "deploy", "web", "note=hello"]);
    assert_eq!(
        server.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.labels.team}"
        ]),
        "blue"
    );
    assert_eq!(
        server.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.annotations.note}"
        ]),
        "hello"
    );
    server.ok(&["label", "deploy", "web", "team-"]);
    assert_eq!(
        server.ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.labels.team}"
        ]),
        ""
    );

    server.ok(&[
        "patch",
        "deploy",
        "web",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ]);
    assert_eq!(
        server.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "5"
    );
    server.ok(&[
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"./v2.wasm"}]"#,
    ]);
    server.ok(&["patch", "deploy", "web", "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"./side.wasm"}]}}}}"#]);
    let images = server.ok(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[*].image}",
    ]);
    assert_eq!(images, "./v2.wasm ./side.wasm");
}

#[test]
fn delete_by_name_label_and_all() {
    let server = Server::start();
    for name in ["a", "b", "c", "d"] {
        server.ok(&["create", "configmap", name]);
    }
    server.ok(&["label", "cm", "b", "c", "doomed=yes"]);
    assert!(
        server
            .ok(&["delete", "cm", "a"])
            .contains("configmap \"a\" deleted")
    );
    let out = server.ok(&["delete", "cm", "-l", "doomed=yes"]);
    assert!(
        out.contains("\"b\" deleted") && out.contains("\"c\" deleted"),
        "{out}"
    );
    assert_eq!(server.ok(&["get", "cm", "-o", "name"]), "configmap/d\n");
    server.ok(&["delete", "cm", "--all"]);
    assert_eq!(server.ok(&["get", "cm", "-o", "name"]), "");
}

#[test]
fn describe_and_api_resources() {
    let server = Server::start();
    server.ok(&["create", "configmap", "described", "--from-literal=k=v"]);
    let out = server.ok(&["describe", "configmap", "described"]);
    assert!(
        out.contains("Name:") && out.contains("described") && out.contains("k:"),
        "{out}"
    );
    let resources = server.ok(&["api-resources"]);
    for line in [
        "pods",
        "deployments",
        "replicasets",
        "jobs",
        "horizontalpodautoscalers",
        "leases",
    ] {
        assert!(resources.contains(line), "{line} missing:\n{resources}");
    }
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("deployments") && l.contains("deploy") && l.contains("apps/v1"))
    );
}

#[test]
fn bad_input_gets_a_clear_status() {
    let server = Server::start();
    let unknown = server.manifest("bad.yaml", &CONFIGMAP.replace("data:", "dataa:"));
    let err = server.fails(&["create", "-f", unknown.to_str().expect("utf8")]);
    assert!(err.contains("unknown field \"dataa\""), "{err}");
    let invalid = server.manifest(
        "invalid.yaml",
        &CONFIGMAP.replace("name: settings", "name: Not_Valid"),
    );
    let err = server.fails(&["create", "-f", invalid.to_str().expect("utf8")]);
    assert!(
        err.contains("is invalid") && err.contains("metadata.name"),
        "{err}"
    );
    let err = server.fails(&["create", "configmap", "x", "-n", "no-such-namespace"]);
    assert!(
        err.contains("namespaces \"no-such-namespace\" not found"),
        "{err}"
    );
}

#[test]
fn a_bound_pod_terminates_gracefully() {
    let server = Server::start();
    let pod = "\
apiVersion: v1
kind: Pod
metadata: {name: bound}
spec:
  nodeName: node-a
  terminationGracePeriodSeconds: 2
  containers: [{name: app, image: ./app.wasm}]
";
    let unbound = pod
        .replace("bound}", "free}")
        .replace("  nodeName: node-a\n", "");
    server.ok(&[
        "apply",
        "-f",
        server.manifest("bound.yaml", pod).to_str().expect("utf8"),
    ]);
    server.ok(&[
        "apply",
        "-f",
        server
            .manifest("free.yaml", &unbound)
            .to_str()
            .expect("utf8"),
    ]);
    // A pod on no node goes at once; one on a node waits for its node or its grace.
    server.ok(&["delete", "pod", "free"]);
    server.ok(&["delete", "pod", "bound", "--wait=false"]);
    let table = server.ok(&["get", "pods"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("bound") && l.contains("Terminating")),
        "{table}"
    );
    assert!(!table.contains("free"), "{table}");
    crate::eventually("the grace period to run out", || {
        let out = server.kubectl(&["get", "pod", "bound"]);
        (!out.status.success()).then_some(())
    });
}

#[test]
fn data_survives_a_restart() {
    let mut server = Server::start();
    server.ok(&["create", "configmap", "kept", "--from-literal=k=v"]);
    let before = server.ok(&[
        "get",
        "cm",
        "kept",
        "-o",
        "jsonpath={.metadata.uid}/{.metadata.resourceVersion}",
    ]);
    server.restart();
    let after = server.ok(&[
        "get",
        "cm",
        "kept",
        "-o",
        "jsonpath={.metadata.uid}/{.metadata.resourceVersion}",
    ]);
    assert_eq!(before, after);
    server.ok(&["create", "configmap", "later"]);
}
