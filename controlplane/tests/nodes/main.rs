//! In-process tests of the node lifecycle controller, the taint eviction controller and
//! the pod garbage collector: the real API write path over a `MemoryStore` behind the
//! watch cache, these three components alone beside it (no scheduler, no agent). The tests
//! play the agents: they write Node objects, their Ready condition and their Lease in
//! `kube-node-lease`, and renew (or stop renewing) them.
//!
//! - `lifecycle`: a silent node goes Ready=Unknown with the unreachable taints, and gets
//!   rid of them when it reports again; the taint is never taken back while it stays
//!   silent; a node reporting NotReady; a node that never reported; the whole cluster
//!   silent (no `NoExecute` taint);
//! - `eviction`: pods leave a tainted node after their (default or own) toleration;
//! - `podgc`: pods of deleted nodes, terminated pods beyond the threshold, terminating pods
//!   of an out-of-service node.

mod eviction;
mod lifecycle;
mod podgc;
#[path = "../support/mod.rs"]
mod support;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    Container, Event, Node, NodeCondition, Pod, PodSpec, Taint, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use skiff_controlplane::controllers::nodelifecycle::{NodeLifecycle, TaintEviction};
use skiff_controlplane::controllers::podgc::PodGc;
use skiff_controlplane::machinery::client::Client;
use skiff_controlplane::machinery::config::Config;
use skiff_controlplane::machinery::context::Context;
use skiff_controlplane::machinery::informer::Informer;
use skiff_model::time::{now, now_time};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a broken controller fails instead of hanging.
pub const WAIT: Duration = Duration::from_secs(40);

/// How often a live node's lease and status are renewed by [`Cluster::keep_alive`].
const RENEW_EVERY: Duration = Duration::from_millis(100);

/// An API server's store and write path with the three controllers running beside it.
pub struct Cluster {
    /// Writes as the test (and as the agents it plays).
    pub client: Client,
    /// Every event written so far.
    pub events: Informer<Event>,
    shutdown: CancellationToken,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A config with a short heartbeat grace and the given default toleration.
pub fn config(default_toleration: Duration) -> Config {
    Config {
        node_monitor_grace: Duration::from_secs(1),
        default_toleration,
        ..Config::default()
    }
}

impl Cluster {
    /// Starts the store, the cache and the controllers with `config`.
    pub async fn start(config: Config) -> Self {
        let shutdown = CancellationToken::new();
        let state = support::api_state(&shutdown).await;
        let ctx = Context::new(state.clone(), config, &shutdown);
        let lifecycle = NodeLifecycle::new(&ctx);
        let eviction = TaintEviction::new(&ctx);
        let gc = PodGc::new(&ctx);
        ctx.informers
            .start(&state, &shutdown)
            .await
            .expect("informers");
        tokio::spawn(lifecycle.run(shutdown.clone()));
        tokio::spawn(eviction.run(shutdown.clone()));
        tokio::spawn(gc.run(shutdown.clone()));
        let events = Informer::<Event>::new();
        events
            .start(state.store.clone(), shutdown.clone())
            .await
            .expect("event informer");
        Self {
            client: Client::new(state, "test"),
            events,
            shutdown,
        }
    }

    /// Registers node `name` as its agent does: the Node, a Ready status, the Lease.
    pub async fn add_node(&self, name: &str) {
        self.client
            .create(&Node {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    ..ObjectMeta::default()
                },
                ..Node::default()
            })
            .await
            .expect("create node");
        self.client
            .create(&Lease {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    namespace: Some("kube-node-lease".into()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(name.into()),
                    lease_duration_seconds: Some(4),
                    renew_time: Some(MicroTime(now())),
                    ..LeaseSpec::default()
                }),
            })
            .await
            .expect("create lease");
        self.report(name, "True").await;
    }

    /// Renews the node's lease and posts its Ready condition with a fresh heartbeat, as
    /// the agent does every lease interval.
    pub async fn renew(&self, name: &str) {
        renew(&self.client, name, "True").await;
    }

    /// Posts the node's Ready condition with `status` and a fresh heartbeat.
    pub async fn report(&self, name: &str, status: &str) {
        report(&self.client, name, status).await;
    }

    /// Keeps renewing the node's lease and a Ready status until the cluster is dropped
    /// or the returned token is cancelled.
    pub fn keep_alive(&self, name: &str) -> CancellationToken {
        self.keep_reporting(name, "True")
    }

    /// Keeps renewing the node's lease and posting its Ready condition with `status`.
    pub fn keep_reporting(&self, name: &str, status: &'static str) -> CancellationToken {
        let stop = self.shutdown.child_token();
        let (client, shutdown, name) = (self.client.clone(), stop.clone(), name.to_string());
        tokio::spawn(async move {
            loop {
                renew(&client, &name, status).await;
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(RENEW_EVERY) => {}
                }
            }
        });
        stop
    }

    /// The node as stored now.
    pub async fn node(&self, name: &str) -> Node {
        self.client.get::<Node>(None, name).await.expect("get node")
    }

    /// Creates pod `name` in `default`, bound to `node`, with `tolerations`.
    pub async fn add_pod(&self, name: &str, node: &str, tolerations: Vec<Toleration>) -> Pod {
        self.client
            .create(&Pod {
                metadata: ObjectMeta {
                    name: Some(name.into()),
                    namespace: Some("default".into()),
                    ..ObjectMeta::default()
                },
                spec: Some(PodSpec {
                    node_name: Some(node.into()),
                    tolerations: Some(tolerations).filter(|t| !t.is_empty()),
                    containers: vec![Container {
                        name: "app".into(),
                        image: Some("app.wasm".into()),
                        ..Container::default()
                    }],
                    ..PodSpec::default()
                }),
                status: None,
            })
            .await
            .expect("create pod")
    }

    /// The pod as stored now, if it exists.
    pub async fn pod(&self, name: &str) -> Option<Pod> {
        match self.client.get::<Pod>(Some("default"), name).await {
            Ok(pod) => Some(pod),
            Err(e) if e.reason == "NotFound" => None,
            Err(e) => panic!("get pod {name}: {e}"),
        }
    }

    /// Waits until the pod is being deleted (or gone); returns it as last seen.
    pub async fn evicted(&self, name: &str) -> Option<Pod> {
        eventually(&format!("pod {name} evicted"), || async {
            match self.pod(name).await {
                Some(pod) if pod.metadata.deletion_timestamp.is_some() => Some(Some(pod)),
                Some(_) => None,
                None => Some(None),
            }
        })
        .await
    }

    /// Waits until the pod no longer exists.
    pub async fn gone(&self, name: &str) {
        eventually(&format!("pod {name} gone"), || async {
            self.pod(name).await.is_none().then_some(())
        })
        .await;
    }

    /// The messages of the events with `reason` about the object named `name`.
    pub fn events_of(&self, name: &str, reason: &str) -> Vec<String> {
        self.events
            .list()
            .iter()
            .filter(|e| e.involved_object.name.as_deref() == Some(name))
            .filter(|e| e.reason.as_deref() == Some(reason))
            .map(|e| e.message.clone().unwrap_or_default())
            .collect()
    }
}

/// Renews the node's lease and posts its Ready condition with `status`, as its agent
/// would.
async fn renew(client: &Client, name: &str, status: &str) {
    client
        .update::<Lease>(Some("kube-node-lease"), name, |lease| {
            lease.spec.get_or_insert_default().renew_time = Some(MicroTime(now()));
            true
        })
        .await
        .expect("renew lease");
    report(client, name, status).await;
}

/// Posts the node's Ready condition with `status` and a fresh heartbeat (replacing its
/// conditions, as the agent's merge patch does).
async fn report(client: &Client, name: &str, status: &str) {
    let now = now_time();
    client
        .update_status::<Node>(None, name, |node| {
            node.status.get_or_insert_default().conditions = Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: status.into(),
                reason: Some("KubeletReady".into()),
                last_heartbeat_time: Some(now.clone()),
                last_transition_time: Some(now.clone()),
                ..NodeCondition::default()
            }]);
            true
        })
        .await
        .expect("node status");
}

/// The node's Ready condition: (status, reason).
pub fn ready(node: &Node) -> Option<(String, String)> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.clone(), c.reason.clone().unwrap_or_default()))
}

/// The node's taints as `key:effect`.
pub fn taints(node: &Node) -> Vec<String> {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .map(|t| {
            t.iter()
                .map(|t| format!("{}:{}", t.key, t.effect))
                .collect()
        })
        .unwrap_or_default()
}

/// The node's taint `key` with `effect`.
pub fn taint<'a>(node: &'a Node, key: &str, effect: &str) -> Option<&'a Taint> {
    node.spec
        .as_ref()?
        .taints
        .as_ref()?
        .iter()
        .find(|t| t.key == key && t.effect == effect)
}

/// A toleration of `key` with `NoExecute` for `seconds` (`None`: forever).
pub fn tolerate(key: &str, seconds: Option<i64>) -> Toleration {
    Toleration {
        key: Some(key.into()),
        operator: Some("Exists".into()),
        effect: Some("NoExecute".into()),
        toleration_seconds: seconds,
        value: None,
    }
}

/// Polls `check` until it returns `Some`, failing after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    support::poll(what, WAIT, Duration::from_millis(20), check).await
}
