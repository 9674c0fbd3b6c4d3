//! [`LocalPods`]: the HTTP servers of the pods running on this node, by pod and port. A
//! container runner registers its component's [`HttpHandler`] when it starts serving and
//! keeps the [`Registration`]; the data plane looks pods up here to deliver requests.
//!
//! A pod that is stopping is *draining*: [`LocalPods::lookup`] no longer returns it, so
//! it gets no new requests, while the requests it already has run to completion
//! ([`Registration::drain`]).

use skiff_runtime::HttpHandler;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The port an HTTP container serves when it declares no `containerPort` (the port
/// `wasmtime serve` and Spin listen on).
pub const DEFAULT_HTTP_PORT: u16 = 8080;

/// A pod on this node, as the data plane names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodKey {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

/// One served port of a local pod.
#[derive(Clone)]
pub struct Served {
    /// The pod's UID.
    pub uid: String,
    /// The container serving it.
    pub container: String,
    /// The component's request handler.
    pub handler: HttpHandler,
    draining: Arc<AtomicBool>,
}

impl Served {
    /// Whether the pod stopped taking new requests.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

/// Servers by pod, then port: a request looks its pod up by reference, without building a key.
type Table = HashMap<PodKey, HashMap<u16, Served>>;

/// The HTTP servers of this node's pods. Cheap to clone.
#[derive(Clone, Default)]
pub struct LocalPods {
    table: Arc<RwLock<Table>>,
}

impl LocalPods {
    /// Registers `handler` as `pod`'s server on `ports` until the returned registration
    /// is dropped. A port already registered for the pod is taken over.
    pub fn register(
        &self,
        pod: PodKey,
        uid: &str,
        container: &str,
        ports: &[u16],
        handler: HttpHandler,
    ) -> Registration {
        let draining = Arc::new(AtomicBool::new(false));
        let mut table = write(&self.table);
        let served = table.entry(pod.clone()).or_default();
        for &port in ports {
            served.insert(
                port,
                Served {
                    uid: uid.to_string(),
                    container: container.to_string(),
                    handler: handler.clone(),
                    draining: draining.clone(),
                },
            );
        }
        Registration {
            pods: self.clone(),
            pod,
            uid: uid.to_string(),
            ports: ports.to_vec(),
            handler,
            draining,
        }
    }

    /// The server of `port` of pod `namespace/name`, unless there is none or it drains.
    pub fn lookup(&self, namespace: &str, name: &str, port: u16) -> Option<Served> {
        let pod = PodKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        };
        read(&self.table)
            .get(&pod)
            .and_then(|ports| ports.get(&port))
            .filter(|s| !s.is_draining())
            .cloned()
    }

    /// Whether `pod` serves `port` now (what [`handler`](Self::handler) would find) and
    /// its handler would admit a request, without taking the handler.
    pub fn has_room(&self, pod: &PodKey, port: u16) -> bool {
        read(&self.table)
            .get(pod)
            .and_then(|ports| ports.get(&port))
            .is_some_and(|s| !s.is_draining() && s.handler.has_room())
    }

    /// The request handler of `port` of `pod`, unless there is none or it drains: what
    /// the request path needs, without copying the rest of [`Served`].
    pub fn handler(&self, pod: &PodKey, port: u16) -> Option<HttpHandler> {
        read(&self.table)
            .get(pod)
            .and_then(|ports| ports.get(&port))
            .filter(|s| !s.is_draining())
            .map(|s| s.handler.clone())
    }

    /// Every registered server (draining ones included), for metrics.
    pub fn all(&self) -> Vec<(PodKey, u16, Served)> {
        read(&self.table)
            .iter()
            .flat_map(|(pod, ports)| {
                ports
                    .iter()
                    .map(|(port, served)| (pod.clone(), *port, served.clone()))
            })
            .collect()
    }
}

/// A container's registration as a pod's server; dropping it unregisters.
pub struct Registration {
    pods: LocalPods,
    pod: PodKey,
    uid: String,
    ports: Vec<u16>,
    handler: HttpHandler,
    draining: Arc<AtomicBool>,
}

impl Registration {
    /// Stops new requests reaching the pod and waits until those it has are done, or
    /// `grace` has passed; returns whether it went idle in time.
    pub async fn drain(&self, grace: Duration) -> bool {
        self.draining.store(true, Ordering::Release);
        tokio::time::timeout(grace, self.handler.idle())
            .await
            .is_ok()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = write(&self.pods.table);
        let Some(ports) = table.get_mut(&self.pod) else {
            return;
        };
        for port in &self.ports {
            // Only this registration's entry: a restarted container may have taken over.
            if ports
                .get(port)
                .is_some_and(|s| s.uid == self.uid && Arc::ptr_eq(&s.draining, &self.draining))
            {
                ports.remove(port);
            }
        }
        if ports.is_empty() {
            table.remove(&self.pod);
        }
    }
}

fn read(lock: &RwLock<Table>) -> std::sync::RwLockReadGuard<'_, Table> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write(lock: &RwLock<Table>) -> std::sync::RwLockWriteGuard<'_, Table> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
