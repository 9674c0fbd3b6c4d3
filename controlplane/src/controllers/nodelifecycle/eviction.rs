//! [`TaintEviction`]: deletes pods from nodes with `NoExecute` taints they do not
//! tolerate (Kubernetes' `pkg/controller/tainteviction`).
//!
//! A pod is looked at when its node's `NoExecute` taints change, and when the pod is bound,
//! rebound or changes its tolerations. Its deadline is [`toleration::eviction`]'s delay
//! from the moment this controller first found it on the tainted node (so a restarted
//! control plane starts every toleration over rather than evicting at once); the deadline
//! is kept while the node stays tainted, even as `not-ready` and `unreachable` swap. When it
//! passes, the pod gets the `DisruptionTarget` condition and is deleted — gracefully, with
//! its UID as precondition; on a dead node nobody confirms, so it stays `Terminating` and
//! the graceful-deletion sweeper removes it when its grace period is over, while its
//! controller has already replaced it elsewhere.

use super::Error;
use super::taints::{NO_EXECUTE, taints_of};
use super::toleration::{self, Eviction};
use crate::machinery::client::{Client, Propagation};
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, key_of, split_key};
use crate::machinery::informers::BY_NODE;
use k8s_openapi::api::core::v1::{Node, Pod, PodCondition, Taint, Toleration};
use skiff_model::events::{Involved, Recorder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Workers deleting pods at once.
const WORKERS: usize = 4;

/// The event reason Kubernetes uses for both marking and cancelling.
const REASON: &str = "TaintManagerEviction";

/// A pod whose eviction is counting down.
struct Scheduled {
    /// The pod incarnation the countdown is for.
    uid: String,
    /// When this controller first found it on the tainted node.
    since: Instant,
}

/// The taint eviction controller.
pub struct TaintEviction {
    controller: Controller<String>,
    inner: Arc<Inner>,
}

struct Inner {
    pods: Informer<Pod>,
    nodes: Informer<Node>,
    client: Client,
    events: Recorder,
    default_toleration: Duration,
    scheduled: Arc<Mutex<HashMap<String, Scheduled>>>,
}

fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .filter(|n| !n.is_empty())
}

fn tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or_default()
}

fn no_execute(node: &Node) -> Vec<Taint> {
    taints_of(node)
        .iter()
        .filter(|t| t.effect == NO_EXECUTE)
        .cloned()
        .collect()
}

/// The `NoExecute` taints compared by key, value and effect (not by when they were added).
fn same_taints(a: &[Taint], b: &[Taint]) -> bool {
    let key = |t: &Taint| (t.key.clone(), t.value.clone(), t.effect.clone());
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort();
    b.sort();
    a == b
}

impl TaintEviction {
    /// Builds the controller, watching pods and nodes.
    pub fn new(ctx: &Context) -> Self {
        let scheduled: Arc<Mutex<HashMap<String, Scheduled>>> = Arc::default();
        let (nodes, counting) = (ctx.informers.nodes.clone(), scheduled.clone());
        let pods = ctx.informers.pods.clone();
        let controller = Controller::new("taint-eviction", WORKERS)
            .watches(&ctx.informers.pods, move |change| {
                if let (Some(old), Some(new)) = (change.old, change.new)
                    && node_name(old) == node_name(new)
                    && tolerations(old) == tolerations(new)
                {
                    return None;
                }
                let pod = change.object();
                let tainted = node_name(pod)
                    .and_then(|n| nodes.get(n))
                    .is_some_and(|n| !no_execute(&n).is_empty());
                let counting = counting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .contains_key(change.key);
                (tainted || counting).then(|| change.key.to_string())
            })
            .watches(&ctx.informers.nodes, move |change| {
                let taints = |n: Option<&Node>| n.map(no_execute).unwrap_or_default();
                if change.old.is_some()
                    && change.new.is_some()
                    && same_taints(&taints(change.old), &taints(change.new))
                {
                    return Vec::new();
                }
                pods.indexed(BY_NODE, change.key)
                    .iter()
                    .map(|pod| key_of(&pod.metadata))
                    .collect()
            });
        let inner = Arc::new(Inner {
            pods: ctx.informers.pods.clone(),
            nodes: ctx.informers.nodes.clone(),
            client: ctx.client("taint-eviction-controller"),
            events: ctx.events.component("taint-eviction-controller"),
            default_toleration: ctx.config.default_toleration,
            scheduled,
        });
        Self { controller, inner }
    }

    /// Runs the workers until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.inner, shutdown).await;
    }
}

impl Reconciler for Inner {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let Some(pod) = self.pods.get(key) else {
            self.lock().remove(key);
            return Ok(Action::await_change());
        };
        if pod.metadata.deletion_timestamp.is_some() {
            // Already going.
            self.lock().remove(key);
            return Ok(Action::await_change());
        }
        let taints = node_name(&pod)
            .and_then(|n| self.nodes.get(n))
            .map(|n| no_execute(&n))
            .unwrap_or_default();
        let delay = match toleration::eviction(&taints, tolerations(&pod), self.default_toleration)
        {
            Eviction::Never => {
                self.cancel(key, Some(&pod));
                return Ok(Action::await_change());
            }
            Eviction::After(delay) => delay,
        };
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let now = Instant::now();
        let since = {
            let mut scheduled = self.lock();
            let entry = scheduled.entry(key.to_string()).or_insert(Scheduled {
                uid: uid.clone(),
                since: now,
            });
            if entry.uid != uid {
                *entry = Scheduled {
                    uid: uid.clone(),
                    since: now,
                };
            }
            entry.since
        };
        let deadline = since + delay;
        if now < deadline {
            return Ok(Action::requeue(deadline - now));
        }
        self.evict(key, &pod, &uid).await?;
        self.lock().remove(key);
        Ok(Action::await_change())
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Scheduled>> {
        self.scheduled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the countdown of `key`, telling so if there was one.
    fn cancel(&self, key: &str, pod: Option<&Pod>) {
        let had = self.lock().remove(key).is_some();
        if let (true, Some(pod)) = (had, pod) {
            self.events.normal(
                Involved::of::<Pod>(&pod.metadata),
                REASON,
                format!("Cancelling deletion of Pod {key}"),
            );
        }
    }

    /// Marks the pod as a disruption target and deletes it (if it is still the pod `uid`).
    async fn evict(&self, key: &str, pod: &Pod, uid: &str) -> Result<(), Error> {
        let (namespace, name) = split_key(key);
        tracing::info!(pod = %key, node = node_name(pod).unwrap_or_default(), "evicting pod from a tainted node");
        self.events.normal(
            Involved::of::<Pod>(&pod.metadata),
            REASON,
            format!("Marking for deletion Pod {key}"),
        );
        let marked = self
            .client
            .update_status::<Pod>(namespace, name, |pod| mark_disruption_target(pod, uid))
            .await;
        match marked {
            Ok(_) => {}
            Err(e) if e.reason == "NotFound" => return Ok(()),
            Err(source) => {
                return Err(Error::Evict {
                    pod: key.to_string(),
                    source,
                });
            }
        }
        match self
            .client
            .delete::<Pod>(namespace, name, Some(uid), Propagation::Background)
            .await
        {
            Err(e) if e.reason == "NotFound" => Ok(()),
            // A conflict (the pod changed, or was replaced by one of the same name) is
            // retried: the next look reads the pod again.
            Err(source) => Err(Error::Evict {
                pod: key.to_string(),
                source,
            }),
            Ok(()) => Ok(()),
        }
    }
}

/// Adds the `DisruptionTarget` condition Kubernetes sets before a taint eviction (Job
/// pod-failure policies read it); false if the pod is another incarnation or already has it.
fn mark_disruption_target(pod: &mut Pod, uid: &str) -> bool {
    if pod.metadata.uid.as_deref() != Some(uid) {
        return false;
    }
    let status = pod.status.get_or_insert_default();
    let conditions = status.conditions.get_or_insert_default();
    if conditions
        .iter()
        .any(|c| c.type_ == "DisruptionTarget" && c.status == "True")
    {
        return false;
    }
    conditions.retain(|c| c.type_ != "DisruptionTarget");
    conditions.push(PodCondition {
        type_: "DisruptionTarget".into(),
        status: "True".into(),
        reason: Some("DeletionByTaintManager".into()),
        message: Some("Taint manager: deleting due to NoExecute taint".into()),
        last_transition_time: Some(skiff_model::time::now_time()),
        ..PodCondition::default()
    });
    true
}
