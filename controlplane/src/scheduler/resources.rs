//! What pods request and what nodes offer, in the units the scheduler compares: cpu in
//! millicores, memory in bytes.
//!
//! A pod's request is computed as Kubernetes' `NodeResourcesFit` computes it: the sum over
//! its containers, or the largest init container (plus the sidecars started before it) if
//! that is more; sidecars (init containers with `restartPolicy: Always`) run beside the
//! containers and add to the sum; `spec.overhead` comes on top. A request left unset while
//! its limit is set requests the limit, as the API server defaults it.

use k8s_openapi::api::core::v1::{Container, Node, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_model::quantity::{millicores, units};
use std::collections::BTreeMap;
use std::ops::{Add, AddAssign, SubAssign};

/// Cpu a container without a cpu request is counted as when spreading load (not when
/// checking fit), as Kubernetes' `DefaultMilliCPURequest`.
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
/// Memory a container without a memory request is counted as when spreading load, as
/// Kubernetes' `DefaultMemoryRequest` (200 MiB).
pub const DEFAULT_MEMORY_REQUEST: i64 = 200 << 20;

/// An amount of cpu and memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// Cpu, in millicores.
    pub milli_cpu: i64,
    /// Memory, in bytes.
    pub memory: i64,
}

impl Add for Resources {
    type Output = Resources;

    fn add(self, other: Resources) -> Resources {
        Resources {
            milli_cpu: self.milli_cpu.saturating_add(other.milli_cpu),
            memory: self.memory.saturating_add(other.memory),
        }
    }
}

impl AddAssign for Resources {
    fn add_assign(&mut self, other: Resources) {
        *self = *self + other;
    }
}

impl SubAssign for Resources {
    fn sub_assign(&mut self, other: Resources) {
        self.milli_cpu = self.milli_cpu.saturating_sub(other.milli_cpu);
        self.memory = self.memory.saturating_sub(other.memory);
    }
}

impl Resources {
    fn max(self, other: Resources) -> Resources {
        Resources {
            milli_cpu: self.milli_cpu.max(other.milli_cpu),
            memory: self.memory.max(other.memory),
        }
    }
}

/// What a pod asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PodRequests {
    /// The requests checked against a node's room.
    pub exact: Resources,
    /// The requests with unset ones counted as the defaults, for scoring: a pod that asks
    /// for nothing still uses something, so such pods spread instead of piling up.
    pub nonzero: Resources,
}

impl Add for PodRequests {
    type Output = PodRequests;

    fn add(self, other: PodRequests) -> PodRequests {
        PodRequests {
            exact: self.exact + other.exact,
            nonzero: self.nonzero + other.nonzero,
        }
    }
}

impl AddAssign for PodRequests {
    fn add_assign(&mut self, other: PodRequests) {
        *self = *self + other;
    }
}

impl SubAssign for PodRequests {
    fn sub_assign(&mut self, other: PodRequests) {
        self.exact -= other.exact;
        self.nonzero -= other.nonzero;
    }
}

/// The requests of a pod.
pub fn pod_requests(spec: &PodSpec) -> PodRequests {
    let mut total = PodRequests::default();
    for container in &spec.containers {
        total += container_requests(container);
    }
    let mut sidecars = PodRequests::default();
    let mut init_peak = PodRequests::default();
    for container in spec.init_containers.iter().flatten() {
        let requests = container_requests(container);
        let running = if container.restart_policy.as_deref() == Some("Always") {
            total += requests;
            sidecars += requests;
            sidecars
        } else {
            sidecars + requests
        };
        init_peak = PodRequests {
            exact: init_peak.exact.max(running.exact),
            nonzero: init_peak.nonzero.max(running.nonzero),
        };
    }
    let mut requests = PodRequests {
        exact: total.exact.max(init_peak.exact),
        nonzero: total.nonzero.max(init_peak.nonzero),
    };
    if let Some(overhead) = &spec.overhead {
        let extra = amounts(Some(overhead));
        requests.exact += extra;
        requests.nonzero += extra;
    }
    requests
}

fn container_requests(container: &Container) -> PodRequests {
    let resources = container.resources.as_ref();
    let requests = resources.and_then(|r| r.requests.as_ref());
    let limits = resources.and_then(|r| r.limits.as_ref());
    let get = |name: &str| {
        requests
            .and_then(|m| m.get(name))
            .or_else(|| limits.and_then(|m| m.get(name)))
    };
    let cpu = get("cpu").map(|q| millicores(&q.0));
    let memory = get("memory").map(|q| units(&q.0));
    PodRequests {
        exact: Resources {
            milli_cpu: cpu.unwrap_or(0),
            memory: memory.unwrap_or(0),
        },
        nonzero: Resources {
            milli_cpu: cpu.unwrap_or(DEFAULT_MILLI_CPU_REQUEST),
            memory: memory.unwrap_or(DEFAULT_MEMORY_REQUEST),
        },
    }
}

fn amounts(list: Option<&BTreeMap<String, Quantity>>) -> Resources {
    let get = |name: &str| list.and_then(|m| m.get(name)).map(|q| q.0.as_str());
    Resources {
        milli_cpu: get("cpu").map_or(0, millicores),
        memory: get("memory").map_or(0, units),
    }
}

/// What a node offers pods.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allocatable {
    /// Cpu and memory.
    pub resources: Resources,
    /// How many pods it takes.
    pub pods: i64,
}

/// A node's `status.allocatable` (its `capacity` if it reports no allocatable).
pub fn allocatable(node: &Node) -> Allocatable {
    let status = node.status.as_ref();
    let list = status
        .and_then(|s| s.allocatable.as_ref())
        .or_else(|| status.and_then(|s| s.capacity.as_ref()));
    Allocatable {
        resources: amounts(list),
        pods: list.and_then(|m| m.get("pods")).map_or(0, |q| units(&q.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ResourceRequirements;

    fn container(requests: &[(&str, &str)], limits: &[(&str, &str)]) -> Container {
        let list = |pairs: &[(&str, &str)]| {
            Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                    .collect(),
            )
            .filter(|m: &BTreeMap<_, _>| !m.is_empty())
        };
        Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                requests: list(requests),
                limits: list(limits),
                ..ResourceRequirements::default()
            }),
            ..Container::default()
        }
    }

    fn res(milli_cpu: i64, memory: i64) -> Resources {
        Resources { milli_cpu, memory }
    }

    #[test]
    fn containers_add_up_and_limits_stand_in_for_missing_requests() {
        let spec = PodSpec {
            containers: vec![
                container(&[("cpu", "100m"), ("memory", "64Mi")], &[]),
                container(&[], &[("cpu", "0.5"), ("memory", "1Gi")]),
            ],
            ..PodSpec::default()
        };
        assert_eq!(pod_requests(&spec).exact, res(600, (64 << 20) + (1 << 30)));
    }

    #[test]
    fn the_largest_init_container_counts_if_it_exceeds_the_sum() {
        let spec = PodSpec {
            containers: vec![container(&[("cpu", "100m"), ("memory", "10Mi")], &[])],
            init_containers: Some(vec![
                container(&[("cpu", "2")], &[]),
                container(&[("memory", "5Mi")], &[]),
            ]),
            ..PodSpec::default()
        };
        assert_eq!(pod_requests(&spec).exact, res(2000, 10 << 20));
    }

    #[test]
    fn sidecars_add_to_the_containers_and_to_later_init_containers() {
        let mut sidecar = container(&[("cpu", "300m")], &[]);
        sidecar.restart_policy = Some("Always".into());
        let spec = PodSpec {
            containers: vec![container(&[("cpu", "100m")], &[])],
            init_containers: Some(vec![sidecar, container(&[("cpu", "500m")], &[])]),
            ..PodSpec::default()
        };
        // Containers and sidecar: 400m; the init container after the sidecar: 800m.
        assert_eq!(pod_requests(&spec).exact.milli_cpu, 800);
    }

    #[test]
    fn unset_requests_count_as_defaults_only_for_scoring() {
        let spec = PodSpec {
            containers: vec![container(&[("memory", "1Mi")], &[])],
            ..PodSpec::default()
        };
        let requests = pod_requests(&spec);
        assert_eq!(requests.exact, res(0, 1 << 20));
        assert_eq!(requests.nonzero, res(DEFAULT_MILLI_CPU_REQUEST, 1 << 20));
    }

    #[test]
    fn overhead_is_added() {
        let spec = PodSpec {
            containers: vec![container(&[("cpu", "1")], &[])],
            overhead: Some(BTreeMap::from([("cpu".into(), Quantity("250m".into()))])),
            ..PodSpec::default()
        };
        assert_eq!(pod_requests(&spec).exact.milli_cpu, 1250);
    }
}
