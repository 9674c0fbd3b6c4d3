//! The HorizontalPodAutoscaler on a Deployment: CPU figures scale it out (within the
//! default scale-up policy) and back to `minReplicas` when they drop, with status,
//! conditions and events as Kubernetes writes them; what it must not act on — a metric
//! the cluster does not serve, a target without a scale, a Deployment the request-driven
//! autoscaler owns, two HPAs on one Deployment — is reported and left alone; and the same
//! object is served as `autoscaling/v1` and `v2`, with Kubernetes' validation.

use crate::kubelet::Kubelet;
use crate::support::{self, poll};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, Pod};
use serde_json::{Value, json};
use skiff_controlplane::apiserver::handlers::{read, write};
use skiff_controlplane::apiserver::request::path::ResourcePath;
use skiff_controlplane::apiserver::request::query::Query;
use skiff_controlplane::controllers::deployment::DeploymentController;
use skiff_controlplane::controllers::hpa::{HpaController, PodMetrics};
use skiff_controlplane::controllers::replicaset::ReplicaSetController;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::informer::Informer;
use skiff_controlplane::metrics::usage::{ContainerUsage, PodUsage};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(40);
const EVERY: Duration = Duration::from_millis(20);

/// CPU use of every pod, in cores, set by the test.
#[derive(Default)]
struct Cpu(Mutex<f64>);

impl Cpu {
    fn set(&self, cores: f64) {
        *self.0.lock().expect("not poisoned") = cores;
    }
}

impl PodMetrics for Cpu {
    fn pod(&self, namespace: &str, name: &str) -> Option<PodUsage> {
        Some(PodUsage {
            namespace: namespace.to_string(),
            name: name.to_string(),
            node: "node-a".to_string(),
            timestamp: SystemTime::now(),
            window: Duration::from_secs(2),
            containers: vec![ContainerUsage {
                name: "http".to_string(),
                cpu_cores: *self.0.lock().expect("not poisoned"),
                memory_bytes: 1 << 20,
            }],
            requests: None,
        })
    }
}

struct Cluster {
    client: Client,
    cpu: Arc<Cpu>,
    events: Informer<Event>,
    shutdown: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cluster {
    async fn start() -> Self {
        let shutdown = CancellationToken::new();
        let state = support::api_state(&shutdown).await;
        let config = Config {
            hpa_sync_period: Duration::from_millis(50),
            ..Config::default()
        };
        let ctx = Context::new(state.clone(), config, &shutdown);
        let cpu = Arc::new(Cpu::default());
        let replicasets = ReplicaSetController::new(&ctx);
        let deployments = DeploymentController::new(&ctx);
        let hpa = HpaController::with_metrics(&ctx, cpu.clone());
        let store = state.store.clone();
        let i = &ctx.informers;
        for started in [
            i.pods.start(store.clone(), shutdown.clone()).await,
            i.replicasets.start(store.clone(), shutdown.clone()).await,
            i.deployments.start(store.clone(), shutdown.clone()).await,
            i.hpas.start(store.clone(), shutdown.clone()).await,
        ] {
            started.expect("as the test set up");
        }
        tokio::spawn(replicasets.run(shutdown.clone()));
        tokio::spawn(deployments.run(shutdown.clone()));
        tokio::spawn(hpa.run(shutdown.clone()));
        let client = Client::new(state.clone(), "test");
        let pods = Informer::<Pod>::new();
        let _kubelet = Kubelet::new(client.clone(), state.clone(), &pods, shutdown.clone());
        pods.start(store.clone(), shutdown.clone())
            .await
            .expect("as the test set up");
        let events = Informer::<Event>::new();
        events
            .start(store, shutdown.clone())
            .await
            .expect("as the test set up");
        Self {
            client,
            cpu,
            events,
            shutdown,
        }
    }

    async fn deploy(&self, name: &str, annotations: Value) {
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "http", "image": "http.wasm",
                        "resources": {"requests": {"cpu": "100m"}}}]},
                },
            },
        }))
        .expect("deployment");
        self.client.create(&d).await.expect("created");
    }

    async fn autoscale(&self, name: &str, target: Value, spec: Value) {
        let mut spec = spec;
        spec["scaleTargetRef"] = target;
        let hpa: HorizontalPodAutoscaler = serde_json::from_value(json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "default"},
            "spec": spec,
        }))
        .expect("hpa");
        self.client.create(&hpa).await.expect("created");
    }

    async fn replicas(&self, name: &str) -> i32 {
        self.client
            .get::<Deployment>(Some("default"), name)
            .await
            .expect("deployment")
            .spec
            .and_then(|s| s.replicas)
            .unwrap_or(1)
    }

    async fn hpa(&self, name: &str) -> HorizontalPodAutoscaler {
        self.client
            .get::<HorizontalPodAutoscaler>(Some("default"), name)
            .await
            .expect("hpa")
    }

    /// Waits until condition `kind` of HPA `name` has `status` and `reason`; its message.
    async fn condition(&self, name: &str, kind: &str, status: &str, reason: &str) -> String {
        poll(
            &format!("{name}: {kind}={status} {reason}"),
            WAIT,
            EVERY,
            || async {
                let hpa = self.hpa(name).await;
                hpa.status
                    .and_then(|s| s.conditions)
                    .into_iter()
                    .flatten()
                    .find(|c| {
                        c.type_ == kind && c.status == status && c.reason.as_deref() == Some(reason)
                    })
                    .and_then(|c| c.message)
            },
        )
        .await
    }

    async fn event(&self, name: &str, reason: &str) -> String {
        poll(&format!("{name}: event {reason}"), WAIT, EVERY, || async {
            self.events
                .list()
                .iter()
                .filter(|e| e.involved_object.name.as_deref() == Some(name))
                .find(|e| e.reason.as_deref() == Some(reason))
                .and_then(|e| e.message.clone())
        })
        .await
    }
}

fn deployment_ref(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": name})
}

fn cpu_target(percent: i64) -> Value {
    json!([{"type": "Resource", "resource": {"name": "cpu",
        "target": {"type": "Utilization", "averageUtilization": percent}}}])
}

#[tokio::test]
async fn cpu_figures_scale_a_deployment_out_and_back_in() {
    let cluster = Cluster::start().await;
    cluster.deploy("web", json!({})).await;
    // Twice the target: 200 % of a 100m request against 50 %; from one pod the default
    // scale-up policy allows max(1 + 4, 2 × 1) = 5, and ceil(4 × 1) = 4 is asked.
    cluster.cpu.set(0.2);
    cluster
        .autoscale(
            "web",
            deployment_ref("web"),
            json!({"minReplicas": 1, "maxReplicas": 10, "metrics": cpu_target(50),
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}}}),
        )
        .await;
    let rescale = cluster.event("web", "SuccessfulRescale").await;
    assert_eq!(
        rescale,
        "New size: 4; reason: cpu resource utilization (percentage of request) above target"
    );
    assert_eq!(cluster.replicas("web").await, 4);
    let message = cluster
        .condition("web", "ScalingActive", "True", "ValidMetricFound")
        .await;
    assert_eq!(
        message,
        "the HPA was able to successfully calculate a replica count from cpu resource \
         utilization (percentage of request)"
    );
    let status = cluster.hpa("web").await.status.expect("status");
    assert!(status.last_scale_time.is_some());
    let current = &status.current_metrics.expect("current metrics")[0];
    let resource = current.resource.as_ref().expect("resource");
    assert_eq!(resource.current.average_utilization, Some(200));
    assert_eq!(
        resource
            .current
            .average_value
            .as_ref()
            .map(|q| q.0.as_str()),
        Some("200m")
    );

    // Load gone: back to minReplicas at once (no stabilization window, 100 % per 15 s).
    cluster.cpu.set(0.0);
    poll("scaled back in", WAIT, EVERY, || async {
        (cluster.replicas("web").await == 1).then_some(())
    })
    .await;
    let hpa = cluster.hpa("web").await;
    let status = hpa.status.expect("status");
    assert_eq!(status.desired_replicas, 1);
    assert_eq!(status.observed_generation, hpa.metadata.generation);
}

#[tokio::test]
async fn what_the_hpa_cannot_act_on_is_reported_and_left_alone() {
    let cluster = Cluster::start().await;
    cluster.cpu.set(1.0);

    // A metric the cluster does not serve.
    cluster.deploy("ext", json!({})).await;
    cluster
        .autoscale(
            "ext",
            deployment_ref("ext"),
            json!({"maxReplicas": 5, "metrics": [{"type": "External", "external": {
                "metric": {"name": "queue"}, "target": {"type": "Value", "value": "10"}}}]}),
        )
        .await;
    let message = cluster
        .condition("ext", "ScalingActive", "False", "FailedGetExternalMetric")
        .await;
    assert!(
        message.starts_with("the HPA was unable to compute the replica count: "),
        "{message}"
    );
    let failed = cluster.event("ext", "FailedComputeMetricsReplicas").await;
    assert!(
        failed.starts_with("invalid metrics (1 invalid out of 1), first error is: "),
        "{failed}"
    );

    // A target without a scale subresource.
    cluster
        .autoscale(
            "cm",
            json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "settings"}),
            json!({"maxReplicas": 5}),
        )
        .await;
    let message = cluster
        .condition("cm", "AbleToScale", "False", "FailedGetScale")
        .await;
    assert_eq!(
        message,
        "the HPA controller was unable to get the target's current scale: the server could \
         not find the requested resource"
    );

    // A Deployment the request-driven autoscaler owns.
    cluster
        .deploy(
            "kpa",
            json!({"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev"}),
        )
        .await;
    cluster
        .autoscale(
            "kpa",
            deployment_ref("kpa"),
            json!({"maxReplicas": 5, "metrics": cpu_target(50)}),
        )
        .await;
    let message = cluster
        .condition("kpa", "ScalingActive", "False", "AmbiguousSelector")
        .await;
    assert!(
        message.contains("autoscaling.knative.dev/class: kpa.autoscaling.knative.dev"),
        "{message}"
    );
    cluster.event("kpa", "AmbiguousSelector").await;

    // Two HPAs on one Deployment: neither acts.
    cluster.deploy("both", json!({})).await;
    for name in ["both-a", "both-b"] {
        cluster
            .autoscale(
                name,
                deployment_ref("both"),
                json!({"maxReplicas": 5, "metrics": cpu_target(50)}),
            )
            .await;
    }
    for name in ["both-a", "both-b"] {
        let message = cluster
            .condition(name, "ScalingActive", "False", "AmbiguousSelector")
            .await;
        assert_eq!(
            message,
            "pods by selector app=both are controlled by multiple HPAs: \
             [default/both-a default/both-b]"
        );
    }

    // CPU at 1000 % of requests all along, and none of them was scaled.
    for name in ["ext", "kpa", "both"] {
        assert_eq!(cluster.replicas(name).await, 1, "{name}");
    }
    assert!(
        !cluster
            .events
            .list()
            .iter()
            .any(|e| e.reason.as_deref() == Some("SuccessfulRescale"))
    );
}

fn path(version: &str, name: Option<&str>) -> ResourcePath {
    ResourcePath {
        kind: skiff_model::kinds::find("autoscaling", version, "horizontalpodautoscalers")
            .expect("served"),
        namespace: Some("default".to_string()),
        name: name.map(String::from),
        subresource: None,
    }
}

#[tokio::test]
async fn one_object_is_served_as_v1_and_v2_and_validated() {
    let shutdown = CancellationToken::new();
    let state = support::api_state(&shutdown).await;
    let query = Query::default();
    // What `kubectl autoscale deploy web --min=1 --max=3 --cpu-percent=50` sends.
    let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 3, "targetCPUUtilizationPercentage": 50}});
    let created = write::create(&state, &path("v1", None), &query, v1)
        .await
        .expect("created");
    assert_eq!(created.object["apiVersion"], "autoscaling/v1");
    assert_eq!(created.object["spec"]["targetCPUUtilizationPercentage"], 50);

    let v2 = read::get(&state, &path("v2", Some("web")), None)
        .await
        .expect("read as v2")
        .0;
    assert_eq!(v2["apiVersion"], "autoscaling/v2");
    assert_eq!(
        v2["spec"]["metrics"],
        json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 50}}}])
    );
    assert!(v2["metadata"].get("annotations").is_none());

    // A v2-only field written through v2 survives a v1 read-modify-write.
    let mut with_behavior = v2.clone();
    with_behavior["spec"]["behavior"] = json!({"scaleDown": {"stabilizationWindowSeconds": 5}});
    write::modify(&state, &path("v2", Some("web")), &query, |_| {
        Ok(with_behavior.clone())
    })
    .await
    .expect("updated");
    let as_v1 = read::get(&state, &path("v1", Some("web")), None)
        .await
        .expect("read as v1")
        .0;
    assert!(
        as_v1["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/behavior"].is_string()
    );
    let mut bumped = as_v1.clone();
    bumped["spec"]["maxReplicas"] = json!(4);
    write::modify(&state, &path("v1", Some("web")), &query, |_| {
        Ok(bumped.clone())
    })
    .await
    .expect("updated through v1");
    let v2 = read::get(&state, &path("v2", Some("web")), None)
        .await
        .expect("read as v2")
        .0;
    assert_eq!(v2["spec"]["maxReplicas"], 4);
    assert_eq!(
        v2["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        5
    );
    assert_eq!(v2["spec"]["behavior"]["scaleUp"]["selectPolicy"], "Max");

    // Kubernetes' validation, whichever version is written.
    let bad = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "bad"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 5, "maxReplicas": 2}});
    let refused = write::create(&state, &path("v1", None), &query, bad)
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.code.as_u16(), 422);
    assert!(
        refused.message.contains(
            "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
        ),
        "{}",
        refused.message
    );
    shutdown.cancel();
}
