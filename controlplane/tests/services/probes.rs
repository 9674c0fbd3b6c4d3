//! Probes at admission: Kubernetes' defaults filled in, and the handlers a wasm container
//! cannot honour (`exec`, `grpc`) refused on pods and on every pod template.

use crate::{Cluster, NS, causes};
use axum::http::StatusCode;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

fn container(probes: Value) -> Value {
    let mut c = json!({"name": "web", "image": "./web.wasm",
                       "ports": [{"name": "http", "containerPort": 8080}]});
    if let (Some(c), Some(p)) = (c.as_object_mut(), probes.as_object()) {
        c.extend(p.clone());
    }
    c
}

fn template(probes: Value) -> Value {
    json!({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container(probes)]}})
}

fn exec() -> Value {
    json!({"livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}}})
}

#[tokio::test]
async fn an_exec_probe_is_refused_on_a_pod() {
    let cluster = Cluster::start().await;
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "p", "namespace": NS},
        "spec": {"containers": [container(exec())]},
    }))
    .expect("pod");
    let err = cluster.client.create(&pod).await.expect_err("exec probe");
    assert_eq!(err.code, StatusCode::UNPROCESSABLE_ENTITY);
    let found = causes(&err);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "spec.containers[0].livenessProbe.exec");
    assert!(
        found[0].1.contains("no processes to exec"),
        "{}",
        found[0].1
    );
    assert!(
        found[0].1.contains("httpGet or tcpSocket"),
        "{}",
        found[0].1
    );
}

#[tokio::test]
async fn exec_and_grpc_probes_are_refused_on_templates() {
    let cluster = Cluster::start().await;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "d", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(exec())},
    }))
    .expect("deployment");
    let err = cluster
        .client
        .create(&deployment)
        .await
        .expect_err("exec probe");
    assert_eq!(err.code, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        causes(&err)[0].0,
        "spec.template.spec.containers[0].livenessProbe.exec"
    );

    let grpc = json!({"readinessProbe": {"grpc": {"port": 9090}}});
    let replicaset: ReplicaSet = serde_json::from_value(json!({
        "metadata": {"name": "rs", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(grpc)},
    }))
    .expect("replicaset");
    let err = cluster
        .client
        .create(&replicaset)
        .await
        .expect_err("grpc probe");
    assert_eq!(
        causes(&err)[0].0,
        "spec.template.spec.containers[0].readinessProbe.grpc"
    );

    let mut job_template = template(json!({"startupProbe": {"exec": {"command": ["true"]}}}));
    job_template["spec"]["restartPolicy"] = json!("Never");
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "j", "namespace": NS},
        "spec": {"template": job_template},
    }))
    .expect("job");
    let err = cluster.client.create(&job).await.expect_err("exec probe");
    assert_eq!(
        causes(&err)[0].0,
        "spec.template.spec.containers[0].startupProbe.exec"
    );
}

#[tokio::test]
async fn http_probes_get_kubernetes_defaults() {
    let cluster = Cluster::start().await;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "d", "namespace": NS},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(json!({
            "readinessProbe": {"httpGet": {"port": "http"}},
            "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 3},
        }))},
    }))
    .expect("deployment");
    let created = cluster.client.create(&deployment).await.expect("create");
    let value = serde_json::to_value(&created).expect("json");
    let c = &value["spec"]["template"]["spec"]["containers"][0];
    let readiness = &c["readinessProbe"];
    assert_eq!(readiness["httpGet"]["path"], "/");
    assert_eq!(readiness["httpGet"]["scheme"], "HTTP");
    assert_eq!(readiness["timeoutSeconds"], 1);
    assert_eq!(readiness["periodSeconds"], 10);
    assert_eq!(readiness["successThreshold"], 1);
    assert_eq!(readiness["failureThreshold"], 3);
    assert_eq!(c["livenessProbe"]["periodSeconds"], 3);
    assert_eq!(c["livenessProbe"]["failureThreshold"], 3);
}
