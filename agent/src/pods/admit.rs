//! Pod admission: a pod bound to the node runs only if its resource requests fit what the
//! node has left — cpu and memory requests against allocatable, and the pod count against
//! the instance pool — as the kubelet admits pods. A pod that does not fit fails at once
//! with the kubelet's reason (`OutOfcpu`, `OutOfmemory`, `OutOfpods`).

use super::record::PodFailure;
use k8s_openapi::api::core::v1::{Container, Pod};
use skiff_model::quantity::{ByteQuantity, cpu_millicores};
use std::collections::HashMap;

/// What pods may request on this node.
#[derive(Clone, Copy, Debug)]
pub struct Allocatable {
    /// CPU, in millicores.
    pub cpu_millis: u64,
    /// Memory, in bytes.
    pub memory: u64,
    /// Pods.
    pub pods: u32,
}

/// A pod's requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// CPU, in millicores.
    pub cpu_millis: u64,
    /// Memory, in bytes.
    pub memory: u64,
}

/// The requests of a pod: the sum over its containers, or the largest init container's
/// if that is more (init containers run one at a time). A request left unset while its
/// limit is set requests the limit, as the API server defaults it.
pub fn requests(pod: &Pod) -> Requests {
    let Some(spec) = &pod.spec else {
        return Requests::default();
    };
    let mut sum = Requests::default();
    for c in &spec.containers {
        let r = container_requests(c);
        sum.cpu_millis += r.cpu_millis;
        sum.memory += r.memory;
    }
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c);
        sum.cpu_millis = sum.cpu_millis.max(r.cpu_millis);
        sum.memory = sum.memory.max(r.memory);
    }
    sum
}

fn container_requests(c: &Container) -> Requests {
    let resources = c.resources.as_ref();
    let get = |name: &str| {
        resources
            .and_then(|r| r.requests.as_ref())
            .and_then(|m| m.get(name))
            .or_else(|| {
                resources
                    .and_then(|r| r.limits.as_ref())
                    .and_then(|m| m.get(name))
            })
            .map(|q| q.0.clone())
    };
    Requests {
        cpu_millis: get("cpu")
            .and_then(|q| cpu_millicores(&q).ok())
            .unwrap_or(0),
        memory: get("memory")
            .and_then(|q| q.parse::<ByteQuantity>().ok())
            .map_or(0, |q| q.bytes()),
    }
}

/// The pods admitted on the node and what they requested.
#[derive(Debug)]
pub struct Admission {
    allocatable: Allocatable,
    admitted: HashMap<String, Requests>,
    /// The sum of `admitted`, kept with it (admitting must not cost a pass over every pod).
    used: Requests,
}

impl Admission {
    /// Nothing admitted yet.
    pub fn new(allocatable: Allocatable) -> Self {
        Self {
            allocatable,
            admitted: HashMap::new(),
            used: Requests::default(),
        }
    }

    /// Admits the pod `uid` if it fits; a pod already admitted is admitted again.
    pub fn admit(&mut self, uid: &str, pod: &Pod) -> Result<(), PodFailure> {
        if self.admitted.contains_key(uid) {
            return Ok(());
        }
        let wanted = requests(pod);
        let used = self.used;
        let alloc = self.allocatable;
        let reject = |reason, resource: &str, requested: u64, used: u64, capacity: u64| {
            PodFailure {
                reason,
                message: format!(
                    "Pod was rejected: Node didn't have enough resource: {resource}, requested: {requested}, used: {used}, capacity: {capacity}"
                ),
            }
        };
        if self.admitted.len() as u64 >= u64::from(alloc.pods) {
            return Err(reject(
                "OutOfpods",
                "pods",
                1,
                self.admitted.len() as u64,
                u64::from(alloc.pods),
            ));
        }
        if used.cpu_millis + wanted.cpu_millis > alloc.cpu_millis {
            return Err(reject(
                "OutOfcpu",
                "cpu",
                wanted.cpu_millis,
                used.cpu_millis,
                alloc.cpu_millis,
            ));
        }
        if used.memory + wanted.memory > alloc.memory {
            return Err(reject(
                "OutOfmemory",
                "memory",
                wanted.memory,
                used.memory,
                alloc.memory,
            ));
        }
        self.used.cpu_millis += wanted.cpu_millis;
        self.used.memory += wanted.memory;
        self.admitted.insert(uid.to_string(), wanted);
        Ok(())
    }

    /// Releases a pod's share (it ended or was deleted).
    pub fn release(&mut self, uid: &str) {
        if let Some(released) = self.admitted.remove(uid) {
            self.used.cpu_millis -= released.cpu_millis;
            self.used.memory -= released.memory;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(cpu: &str, memory: &str) -> Pod {
        serde_json::from_value(json!({"spec": {"containers": [{"name": "a", "resources": {
            "requests": {"cpu": cpu, "memory": memory}}}]}}))
        .expect("pod")
    }

    #[test]
    fn admits_until_full() {
        let mut admission = Admission::new(Allocatable {
            cpu_millis: 1000,
            memory: 1 << 30,
            pods: 3,
        });
        assert!(admission.admit("a", &pod("600m", "100Mi")).is_ok());
        let err = admission
            .admit("b", &pod("600m", "100Mi"))
            .expect_err("cpu is full");
        assert_eq!(err.reason, "OutOfcpu");
        assert!(
            err.message
                .contains("requested: 600, used: 600, capacity: 1000"),
            "{}",
            err.message
        );
        assert_eq!(
            admission
                .admit("c", &pod("100m", "1000Mi"))
                .expect_err("memory")
                .reason,
            "OutOfmemory"
        );
        admission.release("a");
        assert!(admission.admit("b", &pod("600m", "100Mi")).is_ok());
        assert!(
            admission.admit("b", &pod("600m", "100Mi")).is_ok(),
            "idempotent"
        );
    }

    #[test]
    fn counts_pods() {
        let mut admission = Admission::new(Allocatable {
            cpu_millis: 1000,
            memory: 1 << 30,
            pods: 1,
        });
        assert!(admission.admit("a", &pod("0", "0")).is_ok());
        assert_eq!(
            admission
                .admit("b", &pod("0", "0"))
                .expect_err("full")
                .reason,
            "OutOfpods"
        );
    }
}
