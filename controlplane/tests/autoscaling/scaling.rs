//! The autoscaler on a Deployment: idle to zero after the grace period, back from zero at
//! once on an activation, out under load (panic mode, bounded by max-scale) and back to
//! zero when the load stops; bad annotations refused at admission, or warned about at
//! runtime with the Deployment left alone.

use crate::Stand;
use crate::kubelet::Kubelet;
use crate::support::{self, poll};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Pod, Service};
use serde_json::json;
use skiff_controlplane::controllers::deployment::DeploymentController;
use skiff_controlplane::controllers::kpa::KpaController;
use skiff_controlplane::controllers::kpa::config::Config as KpaConfig;
use skiff_controlplane::controllers::replicaset::ReplicaSetController;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::informer::Informer;
use skiff_controlplane::metrics::demand::Demand;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(40);
const EVERY: Duration = Duration::from_millis(20);

struct Cluster {
    client: Client,
    state: skiff_controlplane::apiserver::ApiState,
    stand: Arc<Stand>,
    events: Informer<Event>,
    shutdown: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Cluster {
    async fn start(autoscaler: KpaConfig) -> Self {
        let shutdown = CancellationToken::new();
        let state = support::api_state(&shutdown).await;
        let config = Config {
            autoscaler,
            ..Config::default()
        };
        let ctx = Context::new(state.clone(), config, &shutdown);
        let stand = Arc::new(Stand::default());
        let replicasets = ReplicaSetController::new(&ctx);
        let deployments = DeploymentController::new(&ctx);
        let kpa = KpaController::with_figures(&ctx, stand.clone());
        let store = state.store.clone();
        let i = &ctx.informers;
        i.pods
            .start(store.clone(), shutdown.clone())
            .await
            .expect("as the test set up");
        i.replicasets
            .start(store.clone(), shutdown.clone())
            .await
            .expect("as the test set up");
        i.deployments
            .start(store.clone(), shutdown.clone())
            .await
            .expect("as the test set up");
        i.services
            .start(store.clone(), shutdown.clone())
            .await
            .expect("as the test set up");
        tokio::spawn(replicasets.run(shutdown.clone()));
        tokio::spawn(deployments.run(shutdown.clone()));
        tokio::spawn(kpa.run(shutdown.clone()));
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
            state,
            stand,
            events,
            shutdown,
        }
    }

    async fn replicas(&self, name: &str) -> (i32, i32) {
        let d = self
            .client
            .get::<Deployment>(Some("default"), name)
            .await
            .expect("deployment");
        let spec = d.spec.and_then(|s| s.replicas).unwrap_or(1);
        let ready = d.status.and_then(|s| s.ready_replicas).unwrap_or(0);
        (spec, ready)
    }

    async fn wait_replicas(&self, name: &str, what: &str, ok: impl Fn(i32, i32) -> bool) -> i32 {
        poll(what, WAIT, EVERY, || async {
            let (spec, ready) = self.replicas(name).await;
            ok(spec, ready).then_some(spec)
        })
        .await
    }

    fn events(&self, reason: &str) -> Vec<String> {
        self.events
            .list()
            .iter()
            .filter(|e| e.reason.as_deref() == Some(reason))
            .filter_map(|e| e.message.clone())
            .collect()
    }
}

fn deployment(name: &str, annotations: serde_json::Value) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "http", "image": "http.wasm"}]},
            },
        },
    }))
    .expect("deployment")
}

fn service(name: &str) -> Service {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
    }))
    .expect("service")
}

#[tokio::test]
async fn idles_to_zero_activates_scales_out_under_load_and_back_to_zero() {
    let cluster = Cluster::start(KpaConfig {
        scale_to_zero_grace_period: Duration::from_secs(1),
        ..KpaConfig::default()
    })
    .await;
    cluster
        .client
        .create(&service("web"))
        .await
        .expect("service");
    let annotations = json!({
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/window": "6s",
        "autoscaling.knative.dev/target": "10",
        "autoscaling.knative.dev/max-scale": "16",
    });
    cluster
        .client
        .create(&deployment("web", annotations))
        .await
        .expect("deployment");
    cluster
        .wait_replicas("web", "one ready replica", |_, ready| ready == 1)
        .await;
    cluster
        .wait_replicas("web", "idle to 0/0", |spec, ready| spec == 0 && ready == 0)
        .await;

    // 25 requests held at zero, target 10 × 70 %: ceil(25 / 7) = 4, at once.
    let targets = cluster.state.demand.activate(Demand {
        namespace: "default".into(),
        service: "web".into(),
        held: 25,
    });
    assert_eq!(targets, vec!["Deployment/web"]);
    let up = cluster
        .wait_replicas("web", "scaled from zero", |spec, _| spec > 0)
        .await;
    assert_eq!(
        up, 4,
        "max(activation-scale, min-scale, ceil(held / target))"
    );

    // Every pod at twice the target: panic, doubling until max-scale.
    *cluster.stand.concurrency.lock().expect("not poisoned") = 14.0;
    cluster
        .wait_replicas("web", "max-scale under load", |spec, ready| {
            spec == 16 && ready == 16
        })
        .await;
    let rescales = cluster.events("SuccessfulRescale");
    assert!(
        rescales.iter().any(|m| m.starts_with("New size: 16")),
        "{rescales:?}"
    );

    // Load gone: after the stable window and the grace period, back to zero.
    *cluster.stand.concurrency.lock().expect("not poisoned") = 0.0;
    cluster
        .wait_replicas("web", "back to 0/0", |spec, ready| spec == 0 && ready == 0)
        .await;
}

#[tokio::test]
async fn min_scale_keeps_replicas_and_held_requests_count_as_demand() {
    let cluster = Cluster::start(KpaConfig {
        scale_to_zero_grace_period: Duration::from_secs(1),
        ..KpaConfig::default()
    })
    .await;
    cluster
        .client
        .create(&service("api"))
        .await
        .expect("service");
    let annotations =
        json!({"autoscaling.knative.dev/min-scale": "2", "autoscaling.knative.dev/target": "1"});
    let mut d = deployment("api", json!({}));
    let template = d
        .spec
        .as_mut()
        .expect("as the test set up")
        .template
        .metadata
        .as_mut()
        .expect("as the test set up");
    template.annotations = serde_json::from_value(json!({
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
    }))
    .expect("as the test set up");
    d.metadata.annotations = serde_json::from_value(annotations).expect("as the test set up");
    cluster.client.create(&d).await.expect("deployment");
    cluster
        .wait_replicas("api", "min-scale", |spec, ready| spec == 2 && ready == 2)
        .await;
    // Held requests are demand too: 7 held at target 0.7 per pod wants 10.
    *cluster.stand.held.lock().expect("not poisoned") = 7;
    cluster
        .wait_replicas("api", "scaled for held requests", |spec, _| spec >= 10)
        .await;
}

#[tokio::test]
async fn bad_annotations_are_refused_or_warned_about() {
    let cluster = Cluster::start(KpaConfig::default()).await;
    let bad = json!({
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/min-scale": "-1",
    });
    let error = cluster
        .client
        .create(&deployment("bad", bad))
        .await
        .expect_err("refused");
    assert_eq!(error.code.as_u16(), 422);
    assert!(
        error.message.contains(
            "metadata.annotations.autoscaling.knative.dev/min-scale: expected 0 <= -1 <= 2147483647"
        ),
        "{}",
        error.message
    );
    let contradictory = json!({
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/min-scale": "5",
        "autoscaling.knative.dev/max-scale": "2",
    });
    let error = cluster
        .client
        .create(&deployment("both", contradictory))
        .await
        .expect_err("refused");
    assert!(
        error
            .message
            .contains("max-scale=2 is less than min-scale=5"),
        "{}",
        error.message
    );

    // Valid alone, refused by this cluster: warned about, and the Deployment left as is.
    let zero = json!({
        "autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev",
        "autoscaling.knative.dev/initial-scale": "0",
    });
    cluster
        .client
        .create(&deployment("zero", zero))
        .await
        .expect("admitted");
    let warning = poll("a warning", WAIT, EVERY, || async {
        cluster.events("InvalidAnnotation").into_iter().next()
    })
    .await;
    assert!(warning.contains("not allowed by cluster"), "{warning}");
    cluster
        .wait_replicas("zero", "its replica ready", |_, ready| ready == 1)
        .await;
    assert_eq!(cluster.replicas("zero").await.0, 1, "left as declared");
}
