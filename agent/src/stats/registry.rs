//! [`UsageRegistry`]: this node's pods → their containers → each container's
//! [`Usage`] meter, and the node's totals; [`PodUsage`] is one pod's entry.
//!
//! A pod enters when its worker starts and leaves once nothing of it runs any more; the
//! CPU time of pods that left stays in the node's total, which only ever grows. A
//! container's meter is created the first time it runs and kept across its restarts.
//! Pods are keyed by UID: two pods of one name (one terminating, its successor starting)
//! are counted apart and reported as one, their containers' figures added up.

use super::snapshot::Snapshot;
use skiff_model::stats::{ContainerReport, PodReport};
use skiff_runtime::Usage;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// The meters of this node's pods. Cheap to clone.
#[derive(Clone, Default)]
pub struct UsageRegistry {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Pods by UID.
    pods: Mutex<HashMap<String, Arc<PodUsage>>>,
    /// CPU time of the pods that left (nanoseconds).
    retired_cpu_nanos: AtomicU64,
}

/// One pod's meters.
pub struct PodUsage {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub name: String,
    containers: Mutex<Vec<ContainerUsage>>,
}

struct ContainerUsage {
    name: String,
    /// Init containers count towards the node, not in the pod's container list.
    init: bool,
    usage: Arc<Usage>,
}

impl UsageRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry of the pod with `uid`, created if it has none.
    pub fn pod(&self, namespace: &str, name: &str, uid: &str) -> Arc<PodUsage> {
        lock(&self.inner.pods)
            .entry(uid.to_string())
            .or_insert_with(|| {
                Arc::new(PodUsage {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    containers: Mutex::new(Vec::new()),
                })
            })
            .clone()
    }

    /// Removes the pod with `uid`, keeping its CPU time in the node's total.
    pub fn remove(&self, uid: &str) {
        let Some(pod) = lock(&self.inner.pods).remove(uid) else {
            return;
        };
        let cpu: u64 = lock(&pod.containers)
            .iter()
            .map(|c| c.usage.cpu_nanos())
            .sum();
        self.inner
            .retired_cpu_nanos
            .fetch_add(cpu, Ordering::Relaxed);
    }

    /// How many pods are registered.
    pub fn len(&self) -> usize {
        lock(&self.inner.pods).len()
    }

    /// Whether no pod is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads every meter now.
    pub fn snapshot(&self) -> Snapshot {
        let timestamp_millis = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut cpu_nanos = self.inner.retired_cpu_nanos.load(Ordering::Relaxed);
        let mut memory_bytes = 0;
        let mut pods = {
            let registered = lock(&self.inner.pods);
            let mut pods = Vec::with_capacity(registered.len());
            for pod in registered.values() {
                let mut containers = Vec::new();
                for c in lock(&pod.containers).iter() {
                    let (cpu, memory) = (c.usage.cpu_nanos(), c.usage.memory_bytes());
                    cpu_nanos += cpu;
                    memory_bytes += memory;
                    if !c.init {
                        containers.push(ContainerReport {
                            name: c.name.clone(),
                            cpu_nanos: cpu,
                            memory_bytes: memory,
                        });
                    }
                }
                pods.push(PodReport {
                    namespace: pod.namespace.clone(),
                    name: pod.name.clone(),
                    containers,
                    requests: None,
                });
            }
            pods
        };
        pods.sort_unstable_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        pods.dedup_by(|later, kept| {
            if (&later.namespace, &later.name) != (&kept.namespace, &kept.name) {
                return false;
            }
            for c in later.containers.drain(..) {
                add_container(&mut kept.containers, c);
            }
            true
        });
        for pod in &mut pods {
            pod.containers.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        }
        Snapshot {
            timestamp_millis,
            cpu_nanos,
            memory_bytes,
            pods,
        }
    }
}

impl PodUsage {
    /// The meter of the container `name`, created the first time it is asked for and the
    /// same for every run after. `init` says whether it is an init container.
    pub fn container(&self, name: &str, init: bool) -> Arc<Usage> {
        let mut containers = lock(&self.containers);
        if let Some(c) = containers.iter().find(|c| c.name == name) {
            return c.usage.clone();
        }
        let usage = Arc::new(Usage::new());
        containers.push(ContainerUsage {
            name: name.to_string(),
            init,
            usage: usage.clone(),
        });
        usage
    }
}

/// Adds `c` to the container of the same name in `list`, or to the list.
fn add_container(list: &mut Vec<ContainerReport>, c: ContainerReport) {
    match list.iter_mut().find(|k| k.name == c.name) {
        Some(kept) => {
            kept.cpu_nanos += c.cpu_nanos;
            kept.memory_bytes += c.memory_bytes;
        }
        None => list.push(c),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Sections under these locks do not panic; recover the data if one did.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_sums_containers_into_the_node_and_keeps_what_left() {
        let registry = UsageRegistry::new();
        let web = registry.pod("default", "web", "u1");
        let app = web.container("app", false);
        let init = web.container("setup", true);
        assert!(Arc::ptr_eq(&app, &web.container("app", false)), "kept");
        let snapshot = registry.snapshot();
        assert_eq!(snapshot.pods.len(), 1);
        assert_eq!(snapshot.pods[0].containers.len(), 1, "init excluded");
        assert_eq!(snapshot.pods[0].containers[0].name, "app");
        drop((app, init));
        registry.remove("u1");
        assert!(registry.is_empty());
        assert!(registry.snapshot().pods.is_empty());
    }

    #[test]
    fn two_pods_of_one_name_are_reported_as_one() {
        let registry = UsageRegistry::new();
        registry
            .pod("default", "db-0", "old")
            .container("db", false);
        registry
            .pod("default", "db-0", "new")
            .container("db", false);
        registry.pod("default", "a", "x").container("c", false);
        let snapshot = registry.snapshot();
        let names: Vec<_> = snapshot.pods.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "db-0"]);
        assert_eq!(snapshot.pods[1].containers.len(), 1);
    }
}
