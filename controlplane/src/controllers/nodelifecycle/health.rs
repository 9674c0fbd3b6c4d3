//! [`Heartbeats`]: when this controller last saw each node alive, by its own clock.
//!
//! A node shows it is alive in two ways: its agent renews the node's Lease
//! (`spec.renewTime`), and it posts a fresh `lastHeartbeatTime` on the Ready condition.
//! Either one moving counts as a heartbeat, timed when this controller *saw* it move —
//! never by the timestamps themselves — so a skewed agent clock cannot make a node look
//! dead or alive, and a controller that just started gives every node a full grace period.
//! The one exception is a node that has posted nothing yet (no Ready condition, no lease):
//! its grace runs from its creation.

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// What was last seen of one node.
struct Seen {
    /// When a heartbeat was last seen.
    probe: Instant,
    /// The lease's `renewTime` then.
    renewed: Option<Timestamp>,
    /// The Ready condition's `lastHeartbeatTime` then.
    heartbeat: Option<Timestamp>,
}

/// The last heartbeat seen of every node.
#[derive(Default)]
pub struct Heartbeats {
    nodes: HashMap<String, Seen>,
}

fn renew_time(lease: Option<&Lease>) -> Option<Timestamp> {
    lease?.spec.as_ref()?.renew_time.as_ref().map(|t| t.0)
}

/// The Ready condition's `lastHeartbeatTime`.
pub fn heartbeat_time(node: &Node) -> Option<Timestamp> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")?
        .last_heartbeat_time
        .as_ref()
        .map(|t| t.0)
}

/// A timestamp on the system clock.
fn system_time(t: Timestamp) -> SystemTime {
    let seconds = u64::try_from(t.as_second()).unwrap_or(0);
    let nanos = u32::try_from(t.subsec_nanosecond()).unwrap_or(0);
    UNIX_EPOCH + Duration::new(seconds, nanos)
}

fn has_ready(node: &Node) -> bool {
    super::taints::ready_status(node).is_some()
}

impl Heartbeats {
    /// Records what `node` and its `lease` show at `now` (`wall` is the same moment by the
    /// system clock, to date a creation); returns when the node's last heartbeat was seen.
    pub fn observe(
        &mut self,
        node: &Node,
        lease: Option<&Lease>,
        now: Instant,
        wall: SystemTime,
    ) -> Instant {
        let name = node.metadata.name.clone().unwrap_or_default();
        let renewed = renew_time(lease);
        let heartbeat = heartbeat_time(node);
        let Some(seen) = self.nodes.get_mut(&name) else {
            let probe = if lease.is_none() && !has_ready(node) {
                // Never heard from: the grace runs from the node's creation.
                let age = node
                    .metadata
                    .creation_timestamp
                    .as_ref()
                    .and_then(|t| wall.duration_since(system_time(t.0)).ok())
                    .unwrap_or(Duration::ZERO);
                now.checked_sub(age).unwrap_or(now)
            } else {
                now
            };
            self.nodes.insert(
                name,
                Seen {
                    probe,
                    renewed,
                    heartbeat,
                },
            );
            return probe;
        };
        let lease_moved = renewed.is_some() && (seen.renewed.is_none() || renewed > seen.renewed);
        let heartbeat_moved = heartbeat.is_some() && heartbeat != seen.heartbeat;
        if lease_moved || heartbeat_moved {
            seen.probe = now;
        }
        if renewed.is_some() {
            seen.renewed = seen.renewed.max(renewed);
        }
        seen.heartbeat = heartbeat;
        seen.probe
    }

    /// Forgets nodes that no longer exist.
    pub fn retain(&mut self, names: &HashSet<&str>) {
        self.nodes.retain(|name, _| names.contains(name.as_str()));
    }

    /// Counts every node as seen alive at `now`: after a disruption of the whole cluster
    /// (most likely the control plane's own network), every node gets its grace again.
    pub fn reset(&mut self, now: Instant) {
        for seen in self.nodes.values_mut() {
            seen.probe = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::api::core::v1::{NodeCondition, NodeStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).expect("timestamp")
    }

    fn node(created: i64, heartbeat: Option<i64>) -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("n1".into()),
                creation_timestamp: Some(Time(at(created))),
                ..ObjectMeta::default()
            },
            status: heartbeat.map(|h| NodeStatus {
                conditions: Some(vec![NodeCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_heartbeat_time: Some(Time(at(h))),
                    ..NodeCondition::default()
                }]),
                ..NodeStatus::default()
            }),
            ..Node::default()
        }
    }

    fn lease(renewed: i64) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                renew_time: Some(MicroTime(at(renewed))),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    fn wall(second: i64) -> SystemTime {
        system_time(at(second))
    }

    #[test]
    fn a_node_first_seen_with_a_heartbeat_is_alive_now_whatever_its_timestamps() {
        let mut h = Heartbeats::default();
        let now = Instant::now();
        // Its heartbeat is an hour old by the wall clock: still a full grace from now.
        assert_eq!(h.observe(&node(0, Some(10)), None, now, wall(3_600)), now);
    }

    #[test]
    fn a_node_that_never_posted_counts_from_its_creation() {
        let mut h = Heartbeats::default();
        let now = Instant::now() + Duration::from_secs(100);
        let probe = h.observe(&node(1_000, None), None, now, wall(1_030));
        assert_eq!(now - probe, Duration::from_secs(30));
    }

    #[test]
    fn only_a_moving_lease_or_heartbeat_counts() {
        let mut h = Heartbeats::default();
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(
            h.observe(&node(0, Some(5)), Some(&lease(5)), t0, wall(5)),
            t0
        );
        // Nothing moved: the probe stays.
        assert_eq!(
            h.observe(&node(0, Some(5)), Some(&lease(5)), t0 + 3 * s, wall(8)),
            t0
        );
        // The lease renewed.
        assert_eq!(
            h.observe(&node(0, Some(5)), Some(&lease(9)), t0 + 4 * s, wall(9)),
            t0 + 4 * s
        );
        // A lease going back in time is no heartbeat.
        assert_eq!(
            h.observe(&node(0, Some(5)), Some(&lease(7)), t0 + 6 * s, wall(11)),
            t0 + 4 * s
        );
        // The status heartbeat moved (the lease did not).
        assert_eq!(
            h.observe(&node(0, Some(12)), Some(&lease(9)), t0 + 8 * s, wall(12)),
            t0 + 8 * s
        );
    }

    #[test]
    fn reset_gives_every_node_a_fresh_probe_and_retain_forgets() {
        let mut h = Heartbeats::default();
        let t0 = Instant::now();
        h.observe(&node(0, Some(5)), None, t0, wall(5));
        let later = t0 + Duration::from_secs(60);
        h.reset(later);
        assert_eq!(h.observe(&node(0, Some(5)), None, later, wall(65)), later);
        h.retain(&HashSet::new());
        assert!(h.nodes.is_empty());
    }
}
