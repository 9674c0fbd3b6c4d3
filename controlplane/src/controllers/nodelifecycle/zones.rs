//! [`Zones`]: the brakes on eviction, per failure zone, as Kubernetes' node lifecycle
//! controller has them. Nodes are grouped by their `topology.kubernetes.io/region` and
//! `zone` labels (unlabelled nodes form one zone). Each zone adds `NoExecute` taints at a
//! limited rate — a token bucket of burst 1 — so that a partial network failure does not
//! evict a whole cluster in one go:
//!
//! - a zone with few unready nodes is **normal**: [`EVICTION_RATE`];
//! - a zone with more than two unready nodes making at least [`UNHEALTHY_ZONE_THRESHOLD`]
//!   of it is **partially disrupted**: [`SECONDARY_EVICTION_RATE`] if it is larger than
//!   [`LARGE_CLUSTER_SIZE`] nodes, else no new taints at all;
//! - a zone with no ready node is **fully disrupted**: it is evicted at the normal rate,
//!   unless *every* zone is, in which case the failure is most likely the control plane's
//!   own (its network, or its clock), so no node is tainted and existing `NoExecute`
//!   taints are removed until some node is ready again.
//!
//! Nodes labelled `node.kubernetes.io/exclude-disruption` are left out of the counts.

use k8s_openapi::api::core::v1::Node;
use std::collections::HashMap;
use tokio::time::Instant;

/// Nodes tainted per second in a healthy zone (`--node-eviction-rate`): one every 10 s.
pub const EVICTION_RATE: f64 = 0.1;
/// Nodes tainted per second in a large, partially disrupted zone
/// (`--secondary-node-eviction-rate`): one every 100 s.
pub const SECONDARY_EVICTION_RATE: f64 = 0.01;
/// Share of unready nodes that makes a zone partially disrupted
/// (`--unhealthy-zone-threshold`).
pub const UNHEALTHY_ZONE_THRESHOLD: f64 = 0.55;
/// Above this many nodes a partially disrupted zone is slowed rather than stopped
/// (`--large-cluster-size-threshold`).
pub const LARGE_CLUSTER_SIZE: usize = 50;
/// Label that leaves a node out of the disruption counts.
pub const EXCLUDE_DISRUPTION: &str = "node.kubernetes.io/exclude-disruption";

/// The health of one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneState {
    /// Few or no unready nodes.
    Normal,
    /// More than two unready nodes, and at least the threshold's share of the zone.
    PartialDisruption,
    /// No ready node at all.
    FullDisruption,
}

/// What changed for the cluster as a whole in one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing cluster-wide.
    None,
    /// Every zone just became fully disrupted: evictions stop.
    EnteredFullDisruption,
    /// Some node is ready again after a full disruption: evictions resume.
    LeftFullDisruption,
}

/// The zone a node belongs to (Kubernetes' `GetZoneKey`): region and zone labels.
pub fn zone_of(node: &Node) -> String {
    let label = |names: [&str; 2]| {
        let labels = node.metadata.labels.as_ref();
        names
            .iter()
            .find_map(|n| labels.and_then(|l| l.get(*n)))
            .cloned()
            .unwrap_or_default()
    };
    let region = label([
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/region",
    ]);
    let zone = label([
        "topology.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/zone",
    ]);
    if region.is_empty() && zone.is_empty() {
        String::new()
    } else {
        format!("{region}:\u{0}:{zone}")
    }
}

/// Whether the node counts towards its zone's health.
pub fn counted(node: &Node) -> bool {
    !node
        .metadata
        .labels
        .as_ref()
        .is_some_and(|l| l.contains_key(EXCLUDE_DISRUPTION))
}

/// The state of a zone with `ready` and `unready` nodes (Kubernetes' `ComputeZoneState`).
pub fn zone_state(ready: usize, unready: usize) -> ZoneState {
    if ready == 0 && unready > 0 {
        ZoneState::FullDisruption
    } else if unready > 2 && unready as f64 / (ready + unready) as f64 >= UNHEALTHY_ZONE_THRESHOLD {
        ZoneState::PartialDisruption
    } else {
        ZoneState::Normal
    }
}

/// A token bucket of burst 1: one taint now, then one per `1 / rate` seconds.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        Self {
            rate,
            tokens: 1.0,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(1.0);
        self.last = now;
    }

    fn set_rate(&mut self, rate: f64, now: Instant) {
        self.refill(now);
        self.rate = rate;
    }

    fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.rate > 0.0 && self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Zone {
    state: ZoneState,
    size: usize,
    bucket: Bucket,
}

/// Every zone's state and eviction rate.
#[derive(Default)]
pub struct Zones {
    zones: HashMap<String, Zone>,
    all_disrupted: bool,
}

fn rate(state: ZoneState, size: usize) -> f64 {
    match state {
        ZoneState::Normal | ZoneState::FullDisruption => EVICTION_RATE,
        ZoneState::PartialDisruption if size > LARGE_CLUSTER_SIZE => SECONDARY_EVICTION_RATE,
        ZoneState::PartialDisruption => 0.0,
    }
}

impl Zones {
    /// Updates every zone from its nodes' readiness (`zone → (ready, unready)`), forgetting
    /// zones with no node left; says whether the cluster entered or left full disruption.
    pub fn update(&mut self, counts: &HashMap<String, (usize, usize)>, now: Instant) -> Transition {
        self.zones.retain(|zone, _| counts.contains_key(zone));
        for (zone, &(ready, unready)) in counts {
            let state = zone_state(ready, unready);
            let size = ready + unready;
            let entry = self.zones.entry(zone.clone()).or_insert_with(|| Zone {
                state,
                size,
                bucket: Bucket::new(rate(state, size), now),
            });
            if entry.state != state || entry.size != size {
                if entry.state != state {
                    tracing::info!(zone = %zone, ?state, "zone state changed");
                }
                entry.state = state;
                entry.size = size;
                entry.bucket.set_rate(rate(state, size), now);
            }
        }
        let all = !self.zones.is_empty()
            && self
                .zones
                .values()
                .all(|z| z.state == ZoneState::FullDisruption);
        let was = std::mem::replace(&mut self.all_disrupted, all);
        match (was, all) {
            (false, true) => Transition::EnteredFullDisruption,
            (true, false) => Transition::LeftFullDisruption,
            _ => Transition::None,
        }
    }

    /// Whether every zone is fully disrupted (no eviction at all).
    pub fn all_disrupted(&self) -> bool {
        self.all_disrupted
    }

    /// Takes the right to add a `NoExecute` taint in `zone` now, if its rate allows.
    pub fn try_taint(&mut self, zone: &str, now: Instant) -> bool {
        if self.all_disrupted {
            return false;
        }
        self.zones.get_mut(zone).is_some_and(|z| z.bucket.take(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::time::Duration;

    #[test]
    fn zone_states_follow_kubernetes_thresholds() {
        assert_eq!(zone_state(3, 0), ZoneState::Normal);
        assert_eq!(zone_state(2, 1), ZoneState::Normal);
        // Two unready nodes never make a partial disruption, whatever the share.
        assert_eq!(zone_state(1, 2), ZoneState::Normal);
        assert_eq!(zone_state(2, 3), ZoneState::PartialDisruption);
        assert_eq!(zone_state(4, 3), ZoneState::Normal);
        assert_eq!(zone_state(0, 1), ZoneState::FullDisruption);
        assert_eq!(zone_state(0, 0), ZoneState::Normal);
    }

    #[test]
    fn zones_come_from_region_and_zone_labels() {
        let node = |labels: &[(&str, &str)]| Node {
            metadata: ObjectMeta {
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            },
            ..Node::default()
        };
        assert_eq!(zone_of(&node(&[])), "");
        let a = node(&[("topology.kubernetes.io/zone", "a")]);
        let b = node(&[("topology.kubernetes.io/zone", "b")]);
        assert_ne!(zone_of(&a), zone_of(&b));
        assert!(counted(&a));
        assert!(!counted(&node(&[(EXCLUDE_DISRUPTION, "")])));
    }

    #[test]
    fn a_normal_zone_taints_one_node_now_then_one_per_ten_seconds() {
        let t0 = Instant::now();
        let mut zones = Zones::default();
        let counts = HashMap::from([(String::new(), (2, 1))]);
        assert_eq!(zones.update(&counts, t0), Transition::None);
        assert!(zones.try_taint("", t0));
        assert!(!zones.try_taint("", t0 + Duration::from_secs(5)));
        assert!(zones.try_taint("", t0 + Duration::from_secs(10)));
        assert!(!zones.try_taint("unknown zone", t0 + Duration::from_secs(100)));
    }

    #[test]
    fn a_small_partially_disrupted_zone_stops_tainting() {
        let t0 = Instant::now();
        let mut zones = Zones::default();
        zones.update(&HashMap::from([(String::new(), (2, 3))]), t0);
        assert!(!zones.try_taint("", t0));
        assert!(!zones.try_taint("", t0 + Duration::from_secs(1000)));
    }

    #[test]
    fn full_disruption_everywhere_stops_evictions_until_a_node_is_ready() {
        let t0 = Instant::now();
        let mut zones = Zones::default();
        let down = HashMap::from([("a".to_string(), (0, 2)), ("b".to_string(), (0, 1))]);
        assert_eq!(zones.update(&down, t0), Transition::EnteredFullDisruption);
        assert!(zones.all_disrupted());
        assert!(!zones.try_taint("a", t0));
        assert_eq!(zones.update(&down, t0), Transition::None);
        // One zone has a ready node: the fully disrupted other one is evicted normally.
        let partly = HashMap::from([("a".to_string(), (0, 2)), ("b".to_string(), (1, 0))]);
        assert_eq!(zones.update(&partly, t0), Transition::LeftFullDisruption);
        assert!(zones.try_taint("a", t0));
    }
}
