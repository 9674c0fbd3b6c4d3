//! The node lifecycle controller (Kubernetes' `pkg/controller/nodelifecycle`): notices
//! nodes whose agent stopped, and taints nodes so that the scheduler avoids them and the
//! [`TaintEviction`] controller moves their pods away.
//!
//! Every pass (each [`MONITOR_PERIOD`], when a node's readiness changes, and when a
//! heartbeat's grace runs out):
//!
//! 1. A node whose lease and Ready heartbeat have not moved for `node_monitor_grace`
//!    ([`health`]) gets its Ready condition (and pressure conditions) set to `Unknown`,
//!    reason `NodeStatusUnknown`. The write only happens if the heartbeat is still the one
//!    found stale, so a status the agent posts meanwhile is never overwritten; and the
//!    agent's next status post (Ready=True) overwrites this one — exactly the kubelet's and
//!    the node controller's division of labour.
//! 2. Zone health and the eviction brakes are updated ([`zones`]).
//! 3. The managed taints ([`taints`]) are made to match: `NoSchedule` taints mirror the
//!    conditions; `NoExecute` `not-ready` (Ready=False) or `unreachable` (Ready=Unknown) is
//!    added as the zone's rate allows, swapped at once when the Ready status flips between
//!    the two, and removed when the node is Ready again.
//!
//! Pods are not marked NotReady on an unready node (Kubernetes' `MarkPodsNotReady`): the
//! agent writes a pod's status only when it changes, so it would never set them Ready again
//! after it comes back.

mod eviction;
mod health;
pub mod taints;
pub mod toleration;
mod zones;

pub use eviction::TaintEviction;

use crate::apiserver::error::ApiError;
use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::informer::Informer;
use health::Heartbeats;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, NodeCondition, Taint};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_model::events::{Involved, Recorder};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use taints::{NO_EXECUTE, NOT_READY, UNREACHABLE};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use zones::{Transition, Zones};

/// Longest time between passes over the nodes (Kubernetes' `--node-monitor-period` is
/// 5 s). A pass reads only the informers and writes only what changed, so it is cheap; a
/// short period keeps recovery (removing taints) and rate-limited tainting prompt.
pub const MONITOR_PERIOD: Duration = Duration::from_secs(1);

/// Namespace of the nodes' leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// Conditions set to `Unknown` when a node stops reporting (NetworkUnavailable is the
/// network plugin's, not the agent's, and stays).
const REPORTED_CONDITIONS: [&str; 4] = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"];

/// What the node lifecycle and taint eviction controllers fail at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Setting a node's conditions to Unknown failed.
    #[error("cannot mark node {node} as not reporting")]
    MarkUnknown {
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: ApiError,
    },
    /// Changing a node's taints failed.
    #[error("cannot update the taints of node {node}")]
    Taints {
        /// The node.
        node: String,
        /// Why.
        #[source]
        source: ApiError,
    },
    /// Deleting a pod from a tainted node failed.
    #[error("cannot evict pod {pod}")]
    Evict {
        /// The pod (`namespace/name`).
        pod: String,
        /// Why.
        #[source]
        source: ApiError,
    },
}

/// The node lifecycle controller.
pub struct NodeLifecycle {
    nodes: Informer<Node>,
    leases: Informer<Lease>,
    client: Client,
    events: Recorder,
    grace: Duration,
    wake: Arc<Notify>,
}

/// What the controller remembers between passes.
#[derive(Default)]
struct Memory {
    heartbeats: Heartbeats,
    zones: Zones,
    /// Each node's Ready status at the last pass, to tell transitions.
    ready: HashMap<String, String>,
    /// Whether any node has been Ready since the controller started (before that, "no
    /// node is ready" is a cluster starting, not an outage).
    seen_ready: bool,
}

/// What a change to a node means to this controller (heartbeat-only changes are not
/// interesting).
#[derive(PartialEq, Eq)]
struct Signature {
    /// Type and status of each condition.
    conditions: Vec<(String, String)>,
    /// `spec.unschedulable`.
    unschedulable: Option<bool>,
    /// Key and effect of each taint.
    taints: Vec<(String, String)>,
}

impl Signature {
    fn of(node: &Node) -> Self {
        let conditions = node
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .map(|c| {
                c.iter()
                    .map(|c| (c.type_.clone(), c.status.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let taints = taints::taints_of(node)
            .iter()
            .map(|t| (t.key.clone(), t.effect.clone()))
            .collect();
        Self {
            conditions,
            unschedulable: node.spec.as_ref().and_then(|s| s.unschedulable),
            taints,
        }
    }
}

impl NodeLifecycle {
    /// Builds the controller, subscribing to nodes and leases.
    pub fn new(ctx: &Context) -> Self {
        let this = Self {
            nodes: ctx.informers.nodes.clone(),
            leases: ctx.informers.leases.clone(),
            client: ctx.client("node-controller"),
            events: ctx.events.component("node-controller"),
            grace: ctx.config.node_monitor_grace,
            wake: Arc::new(Notify::new()),
        };
        let wake = this.wake.clone();
        this.nodes.subscribe(move |change| {
            let interesting = match (change.old, change.new) {
                (Some(old), Some(new)) => Signature::of(old) != Signature::of(new),
                _ => true,
            };
            if interesting {
                wake.notify_one();
            }
        });
        let (wake, nodes) = (this.wake.clone(), this.nodes.clone());
        this.leases.subscribe(move |change| {
            // A renewed lease matters at once only to a node marked unready: it may be
            // back.
            let (namespace, name) = crate::machinery::informer::split_key(change.key);
            if namespace == Some(NODE_LEASE_NAMESPACE)
                && nodes
                    .get(name)
                    .is_some_and(|n| taints::ready_status(&n) != Some("True"))
            {
                wake.notify_one();
            }
        });
        this
    }

    /// Runs passes until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut memory = Memory::default();
        loop {
            let next = self.pass(&mut memory).await;
            let until = next
                .unwrap_or_else(|| Instant::now() + MONITOR_PERIOD)
                .min(Instant::now() + MONITOR_PERIOD);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(until) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// One pass over every node; returns when the next heartbeat grace runs out.
    async fn pass(&self, memory: &mut Memory) -> Option<Instant> {
        let now = Instant::now();
        let wall = SystemTime::now();
        let listed = self.nodes.list();
        let names: HashSet<&str> = listed
            .iter()
            .filter_map(|n| n.metadata.name.as_deref())
            .collect();
        memory.heartbeats.retain(&names);
        memory.ready.retain(|name, _| names.contains(name.as_str()));

        let mut next: Option<Instant> = None;
        let mut nodes = Vec::with_capacity(listed.len());
        for node in &listed {
            let name = node.metadata.name.clone().unwrap_or_default();
            let lease = self.leases.get_named(Some(NODE_LEASE_NAMESPACE), &name);
            let probe = memory.heartbeats.observe(node, lease.as_deref(), now, wall);
            let deadline = probe + self.grace;
            let mut node = node.clone();
            if now < deadline {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            } else if taints::ready_status(&node) != Some("Unknown") {
                match self.mark_unknown(&node).await {
                    Ok(updated) => node = Arc::new(updated),
                    Err(e) => {
                        tracing::warn!(node = %name, error = %e, "node status not updated; will retry")
                    }
                }
            }
            self.note_transition(memory, &node);
            nodes.push(node);
        }

        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        for node in nodes.iter().filter(|n| zones::counted(n)) {
            let count = counts.entry(zones::zone_of(node)).or_default();
            if taints::ready_status(node) == Some("True") {
                count.0 += 1;
            } else {
                count.1 += 1;
            }
        }
        let was_seen_ready = memory.seen_ready;
        memory.seen_ready |= counts.values().any(|(ready, _)| *ready > 0);
        match memory.zones.update(&counts, now) {
            Transition::EnteredFullDisruption if was_seen_ready => tracing::warn!(
                "no node is ready: the control plane's own connectivity is suspect; no pod is evicted until a node is ready again"
            ),
            Transition::EnteredFullDisruption => {
                tracing::debug!("no node is ready yet; no pod is evicted until one is")
            }
            Transition::LeftFullDisruption => {
                tracing::info!("a node is ready again: evictions resume");
                memory.heartbeats.reset(now);
            }
            Transition::None => {}
        }

        for node in &nodes {
            if let Err(e) = self.sync_taints(node, &mut memory.zones, now).await {
                tracing::warn!(error = %e, "node taints not updated; will retry");
            }
        }
        next
    }

    /// Records a NodeNotReady event when a node stops being Ready.
    fn note_transition(&self, memory: &mut Memory, node: &Node) {
        let name = node.metadata.name.clone().unwrap_or_default();
        let status = taints::ready_status(node).unwrap_or("Unknown").to_string();
        let before = memory.ready.insert(name.clone(), status.clone());
        if before.as_deref() == Some("True") && status != "True" {
            tracing::info!(node = %name, ready = %status, "node is not ready");
            self.events.normal(
                Involved::of::<Node>(&node.metadata),
                "NodeNotReady",
                format!("Node {name} status is now: NodeNotReady"),
            );
        }
    }

    /// Sets the node's reported conditions to Unknown, unless a heartbeat arrived since
    /// `node` was read. Returns the node as stored.
    async fn mark_unknown(&self, node: &Node) -> Result<Node, Error> {
        let name = node.metadata.name.clone().unwrap_or_default();
        let seen = health::heartbeat_time(node);
        let created = node.metadata.creation_timestamp.clone();
        let now = skiff_model::time::now_time();
        tracing::info!(node = %name, "node stopped reporting; marking it Unknown");
        self.client
            .update_status::<Node>(None, &name, |node| {
                if health::heartbeat_time(node) != seen {
                    // The agent posted a status meanwhile: it is alive.
                    return false;
                }
                mark_conditions_unknown(node, &now, created.as_ref())
            })
            .await
            .map_err(|source| Error::MarkUnknown { node: name, source })
    }

    /// Makes the node's managed taints match its conditions and the eviction brakes.
    ///
    /// Decided on the node as stored when written, not on the informer's copy, which may
    /// not show this controller's own last write yet (deciding on it would take back a
    /// taint just added). The zone's rate is only consulted, once, if the stored node
    /// lacks a `NoExecute` taint it should get.
    async fn sync_taints(&self, node: &Node, zones: &mut Zones, now: Instant) -> Result<(), Error> {
        let name = node.metadata.name.clone().unwrap_or_default();
        let zone = zones::zone_of(node);
        let all_disrupted = zones.all_disrupted();
        let stamp = skiff_model::time::now_time();
        // Nothing to do even if a new taint were allowed: no write.
        let mut current = node.spec.as_ref().and_then(|s| s.taints.clone());
        let desired = desired_taints(node, all_disrupted, &mut || true);
        if !taints::replace_managed(&mut current, &desired, &stamp) {
            return Ok(());
        }
        let mut granted: Option<bool> = None;
        let stored = self
            .client
            .update::<Node>(None, &name, |node| {
                let mut allow = || *granted.get_or_insert_with(|| zones.try_taint(&zone, now));
                let desired = desired_taints(node, all_disrupted, &mut allow);
                let spec = node.spec.get_or_insert_default();
                taints::replace_managed(&mut spec.taints, &desired, &stamp)
            })
            .await
            .map_err(|source| Error::Taints {
                node: name.clone(),
                source,
            })?;
        tracing::info!(node = %name, taints = ?taints::taints_of(&stored).iter().map(|t| format!("{}:{}", t.key, t.effect)).collect::<Vec<_>>(), "node taints");
        Ok(())
    }
}

/// The managed taints `node` should carry: `NoSchedule` ones for its conditions, and for
/// Ready=False or Unknown the matching `NoExecute` one — kept (or swapped between
/// `not-ready` and `unreachable`) at once if it has one, added only if `allow_new` says
/// the zone's rate allows; none while the whole cluster is disrupted.
fn desired_taints(
    node: &Node,
    all_disrupted: bool,
    allow_new: &mut dyn FnMut() -> bool,
) -> Vec<Taint> {
    let mut desired = taints::no_schedule_taints(node);
    let wanted = match taints::ready_status(node) {
        Some("False") => Some((NOT_READY, UNREACHABLE)),
        Some("Unknown") => Some((UNREACHABLE, NOT_READY)),
        _ => None,
    };
    if let Some((key, opposite)) = wanted.filter(|_| !all_disrupted)
        && (taints::has(node, key, NO_EXECUTE)
            || taints::has(node, opposite, NO_EXECUTE)
            || allow_new())
    {
        desired.push(taints::taint(key, NO_EXECUTE));
    }
    desired
}

/// Sets the node's agent-reported conditions to Unknown (adding Ready if it never posted
/// one); false if they already are.
fn mark_conditions_unknown(node: &mut Node, now: &Time, created: Option<&Time>) -> bool {
    let conditions = node
        .status
        .get_or_insert_default()
        .conditions
        .get_or_insert_default();
    let mut changed = false;
    if !conditions.iter().any(|c| c.type_ == "Ready") {
        conditions.push(NodeCondition {
            type_: "Ready".into(),
            status: "Unknown".into(),
            reason: Some("NodeStatusNeverUpdated".into()),
            message: Some("Kubelet never posted node status.".into()),
            last_heartbeat_time: created.cloned(),
            last_transition_time: Some(now.clone()),
        });
        changed = true;
    }
    for condition in conditions
        .iter_mut()
        .filter(|c| REPORTED_CONDITIONS.contains(&c.type_.as_str()) && c.status != "Unknown")
    {
        condition.status = "Unknown".into();
        condition.reason = Some("NodeStatusUnknown".into());
        condition.message = Some("Kubelet stopped posting node status.".into());
        condition.last_transition_time = Some(now.clone());
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::NodeStatus;
    use k8s_openapi::jiff::Timestamp;

    fn condition(kind: &str, status: &str) -> NodeCondition {
        NodeCondition {
            type_: kind.into(),
            status: status.into(),
            reason: Some("KubeletReady".into()),
            ..NodeCondition::default()
        }
    }

    #[test]
    fn a_silent_node_gets_its_reported_conditions_unknown_once() {
        let now = Time(Timestamp::from_second(100).expect("timestamp"));
        let mut node = Node {
            status: Some(NodeStatus {
                conditions: Some(vec![
                    condition("Ready", "True"),
                    condition("MemoryPressure", "False"),
                    condition("NetworkUnavailable", "False"),
                ]),
                ..NodeStatus::default()
            }),
            ..Node::default()
        };
        assert!(mark_conditions_unknown(&mut node, &now, None));
        let conditions = node.status.as_ref().and_then(|s| s.conditions.clone());
        let conditions = conditions.expect("conditions");
        assert_eq!(conditions[0].status, "Unknown");
        assert_eq!(conditions[0].reason.as_deref(), Some("NodeStatusUnknown"));
        assert_eq!(
            conditions[0].message.as_deref(),
            Some("Kubelet stopped posting node status.")
        );
        assert_eq!(conditions[0].last_transition_time, Some(now.clone()));
        assert_eq!(conditions[1].status, "Unknown");
        assert_eq!(conditions[2].status, "False", "not the agent's to report");
        assert!(!mark_conditions_unknown(&mut node, &now, None));
    }

    #[test]
    fn a_node_that_never_reported_gets_a_ready_unknown_condition() {
        let now = Time(Timestamp::from_second(100).expect("timestamp"));
        let created = Time(Timestamp::from_second(50).expect("timestamp"));
        let mut node = Node::default();
        assert!(mark_conditions_unknown(&mut node, &now, Some(&created)));
        let status = node.status.expect("status");
        let ready = &status.conditions.expect("conditions")[0];
        assert_eq!(
            (ready.type_.as_str(), ready.status.as_str()),
            ("Ready", "Unknown")
        );
        assert_eq!(ready.reason.as_deref(), Some("NodeStatusNeverUpdated"));
        assert_eq!(ready.last_heartbeat_time, Some(created));
    }

    fn node(ready: &str, taints: &[(&str, &str)]) -> Node {
        Node {
            spec: Some(k8s_openapi::api::core::v1::NodeSpec {
                taints: Some(taints.iter().map(|(k, e)| taints::taint(k, e)).collect()),
                ..Default::default()
            }),
            status: Some(NodeStatus {
                conditions: Some(vec![condition("Ready", ready)]),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    fn keys(taints: &[Taint]) -> Vec<String> {
        taints
            .iter()
            .map(|t| format!("{}:{}", t.key, t.effect))
            .collect()
    }

    #[test]
    fn a_new_noexecute_taint_needs_the_zones_permission_and_a_kept_one_does_not() {
        let unknown = node("Unknown", &[]);
        let mut asked = 0;
        let mut deny = || {
            asked += 1;
            false
        };
        assert_eq!(
            keys(&desired_taints(&unknown, false, &mut deny)),
            [format!("{UNREACHABLE}:NoSchedule")]
        );
        assert_eq!(asked, 1);
        assert_eq!(
            keys(&desired_taints(&unknown, false, &mut || true)),
            [
                format!("{UNREACHABLE}:NoSchedule"),
                format!("{UNREACHABLE}:NoExecute")
            ]
        );
        // Already tainted, or tainted not-ready and now unreachable: no permission needed.
        let mut never = || -> bool { panic!("the rate was consulted") };
        let tainted = node("Unknown", &[(UNREACHABLE, NO_EXECUTE)]);
        assert!(
            keys(&desired_taints(&tainted, false, &mut never))
                .contains(&format!("{UNREACHABLE}:NoExecute"))
        );
        let swapped = node("Unknown", &[(NOT_READY, NO_EXECUTE)]);
        assert_eq!(
            keys(&desired_taints(&swapped, false, &mut never)),
            [
                format!("{UNREACHABLE}:NoSchedule"),
                format!("{UNREACHABLE}:NoExecute")
            ]
        );
    }

    #[test]
    fn ready_or_fully_disrupted_nodes_get_no_noexecute_taint() {
        let mut always = || true;
        let ready = node("True", &[(UNREACHABLE, NO_EXECUTE)]);
        assert!(desired_taints(&ready, false, &mut always).is_empty());
        let unknown = node("Unknown", &[(UNREACHABLE, NO_EXECUTE)]);
        assert_eq!(
            keys(&desired_taints(&unknown, true, &mut always)),
            [format!("{UNREACHABLE}:NoSchedule")]
        );
        let not_ready = node("False", &[]);
        assert_eq!(
            keys(&desired_taints(&not_ready, false, &mut always)),
            [
                format!("{NOT_READY}:NoSchedule"),
                format!("{NOT_READY}:NoExecute")
            ]
        );
    }
}
