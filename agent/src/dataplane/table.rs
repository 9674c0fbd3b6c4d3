//! [`RouteTable`]: where Service traffic goes, built from the cluster's Services,
//! EndpointSlices and Nodes ([`ClusterObjects`]) by [`build`]. A table is immutable; the
//! data plane publishes a fresh one (as an `Arc`) whenever those objects change, so the
//! request path reads it without locks or allocation.
//!
//! It maps a Service (`namespace/name`) to its ports, each with its ready endpoints (the
//! pod, its node, its target port, and whether it is on this node or on which peer); a
//! node port and a LoadBalancer port to the Service port they expose; a cluster IP and
//! port to its Service port; and a node's name to its agent's address (`InternalIP` and
//! the kubelet endpoint port from the Node's status). It also holds the delivered-request
//! counters of the pods its slices place on this node, so a request a peer forwards finds
//! its pod's without a lock ([`RouteTable::local_requests`]).

use super::local::PodKey;
use super::ready::ReadyPod;
use super::stats::{CodeCounts, Key, PodRequests, Registry, ServiceStats};
use http::HeaderValue;
use http::uri::Authority;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};

/// The label naming the Service an EndpointSlice belongs to.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// The cluster objects a routing table is built from.
#[derive(Clone, Debug, Default)]
pub struct ClusterObjects {
    /// Every Service.
    pub services: Vec<Arc<Service>>,
    /// Every EndpointSlice.
    pub slices: Vec<Arc<EndpointSlice>>,
    /// Every Node.
    pub nodes: Vec<Arc<Node>>,
}

/// Where Service traffic goes; see the module docs.
#[derive(Default)]
pub(crate) struct RouteTable {
    /// Services by namespace, then name.
    services: HashMap<String, HashMap<String, Arc<ServiceRoute>>>,
    /// Service ports by node port.
    node_ports: HashMap<u16, PortRef>,
    /// Service ports of LoadBalancer Services by their port.
    balancer_ports: HashMap<u16, PortRef>,
    /// Service ports by cluster IP and port.
    cluster_ips: HashMap<SocketAddr, PortRef>,
    /// Delivered-request counters of this node's pods, by namespace, then name.
    local_pods: HashMap<String, HashMap<String, Arc<PodRequests>>>,
}

/// One Service and its ports.
pub(crate) struct ServiceRoute {
    /// `namespace/name`, as messages and metrics name it.
    pub(crate) key: Key,
    /// Its ports, in spec order.
    pub(crate) ports: Vec<PortRoute>,
    /// Its counters.
    pub(crate) stats: Arc<ServiceStats>,
}

impl ServiceRoute {
    /// `namespace/name`.
    pub(crate) fn display(&self) -> String {
        format!("{}/{}", self.key.0, self.key.1)
    }
}

/// One port of a Service.
pub(crate) struct PortRoute {
    /// The Service port.
    pub(crate) port: u16,
    /// Its node port, for NodePort and LoadBalancer Services.
    pub(crate) node_port: Option<u16>,
    /// The ready endpoints behind it.
    pub(crate) endpoints: Vec<Endpoint>,
    /// Where the balancer starts looking, to spread ties.
    pub(crate) cursor: AtomicUsize,
}

/// A Service port, as a listener or a name resolves it.
#[derive(Clone)]
pub(crate) struct PortRef {
    /// The Service.
    pub(crate) service: Arc<ServiceRoute>,
    /// Index into its `ports`.
    pub(crate) index: usize,
}

impl PortRef {
    /// The port's route.
    pub(crate) fn port(&self) -> &PortRoute {
        &self.service.ports[self.index]
    }
}

/// Where an endpoint's pod runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// On this node.
    Local,
    /// On a peer, whose agent listens at this address.
    Peer {
        /// The peer's name.
        node: String,
        /// Its agent's endpoint.
        addr: SocketAddr,
        /// The same, ready for a URI.
        authority: Authority,
    },
}

/// A ready pod behind a Service port.
pub(crate) struct Endpoint {
    /// The pod.
    pub(crate) pod: PodKey,
    /// The port it serves the Service port on.
    pub(crate) target_port: u16,
    /// Where it runs.
    pub(crate) place: Place,
    /// `namespace/pod/port`: the `skiff-forward-to` header that reaches it on its peer.
    pub(crate) forward_to: HeaderValue,
    /// Requests this agent has outstanding on it.
    pub(crate) load: Arc<AtomicUsize>,
    /// Its answers to this Service.
    pub(crate) answers: Arc<CodeCounts>,
    /// Requests forwarded to its node for this Service (none for a local pod).
    pub(crate) forwarded: Option<Arc<AtomicU64>>,
    /// Requests delivered to the pod (a local pod only: a peer counts its own).
    pub(crate) requests: Option<Arc<PodRequests>>,
}

impl Endpoint {
    /// Whether the pod runs on this node.
    pub(crate) fn is_local(&self) -> bool {
        self.place == Place::Local
    }
}

impl RouteTable {
    /// The Service `namespace/name`.
    pub(crate) fn service(&self, namespace: &str, name: &str) -> Option<&Arc<ServiceRoute>> {
        self.services.get(namespace)?.get(name)
    }

    /// The Service port exposed on node port `port`.
    pub(crate) fn node_port(&self, port: u16) -> Option<&PortRef> {
        self.node_ports.get(&port)
    }

    /// The LoadBalancer Service port exposed on `port`.
    pub(crate) fn balancer_port(&self, port: u16) -> Option<&PortRef> {
        self.balancer_ports.get(&port)
    }

    /// The Service port at cluster IP `addr`.
    pub(crate) fn cluster_ip(&self, addr: SocketAddr) -> Option<&PortRef> {
        self.cluster_ips.get(&addr)
    }

    /// The delivered-request counters of pod `namespace/name` if the table places it on
    /// this node.
    pub(crate) fn local_requests(&self, namespace: &str, name: &str) -> Option<&Arc<PodRequests>> {
        self.local_pods.get(namespace)?.get(name)
    }

    /// Every node port and LoadBalancer port with something behind it.
    pub(crate) fn listen_ports(&self) -> (Vec<u16>, Vec<u16>) {
        let mut node: Vec<u16> = self.node_ports.keys().copied().collect();
        let mut balancer: Vec<u16> = self.balancer_ports.keys().copied().collect();
        node.sort_unstable();
        balancer.sort_unstable();
        (node, balancer)
    }
}

/// Builds the table `this_node` routes with from `objects` and the pods this node sees
/// `ready` (endpoints of the Services that select them, slice or not), taking counters
/// from `registry` (and forgetting those of Services and pods that are gone).
pub(crate) fn build(
    objects: &ClusterObjects,
    ready: &[Arc<ReadyPod>],
    this_node: &str,
    registry: &mut Registry,
) -> RouteTable {
    let peers = peers(&objects.nodes, this_node);
    let mut slices: HashMap<Key, Vec<&EndpointSlice>> = HashMap::new();
    for slice in &objects.slices {
        let service = slice
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(SERVICE_NAME_LABEL));
        if let (Some(service), Some(namespace)) = (service, &slice.metadata.namespace) {
            slices
                .entry((namespace.clone(), service.clone()))
                .or_default()
                .push(slice);
        }
    }

    // Sorted, so that when two Services claim one port the same one wins on every rebuild.
    let mut services: Vec<&Service> = objects.services.iter().map(|s| s.as_ref()).collect();
    services.sort_by(|a, b| {
        let key = |s: &Service| (s.metadata.namespace.clone(), s.metadata.name.clone());
        key(a).cmp(&key(b))
    });

    let mut table = RouteTable::default();
    let mut seen_services = HashSet::new();
    let mut seen_pods = HashSet::new();
    for service in services {
        let (Some(namespace), Some(name)) = (&service.metadata.namespace, &service.metadata.name)
        else {
            continue;
        };
        let Some(spec) = &service.spec else { continue };
        let kind = spec.type_.as_deref().unwrap_or("ClusterIP");
        if kind == "ExternalName" {
            continue;
        }
        let key = (namespace.clone(), name.clone());
        let service_slices = slices.get(&key).map(Vec::as_slice).unwrap_or_default();
        for slice in service_slices {
            for endpoint in &slice.endpoints {
                let Some(pod) = pod_name(endpoint) else {
                    continue;
                };
                let pod_key = (namespace.clone(), pod.to_string());
                // Ready or not: a request forwarded by a peer with a newer view is counted.
                if endpoint.node_name.as_deref() == Some(this_node) {
                    let requests = registry.requests(&pod_key);
                    local_pod(&mut table, &pod_key, requests);
                }
                seen_pods.insert(pod_key);
            }
        }
        let stats = registry.service(&key);
        let ports = spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| {
                let port = u16::try_from(p.port).ok()?;
                let name = p.name.as_deref().unwrap_or_default();
                let node_port = p.node_port.and_then(|n| u16::try_from(n).ok());
                let mut endpoints = endpoints(&key, name, service_slices, &peers, registry);
                let selected: Vec<&Arc<ReadyPod>> = match spec.selector.as_ref() {
                    // A Service without a selector has only the endpoints it is given.
                    None => Vec::new(),
                    Some(selector) => ready
                        .iter()
                        .filter(|pod| pod.pod.namespace == *namespace && pod.selected_by(selector))
                        .collect(),
                };
                let listed: HashSet<(PodKey, u16)> = if selected.is_empty() {
                    HashSet::new()
                } else {
                    endpoints
                        .iter()
                        .map(|e| (e.pod.clone(), e.target_port))
                        .collect()
                };
                for pod in selected {
                    let target_port = match &p.target_port {
                        None => Some(port),
                        Some(IntOrString::Int(number)) => u16::try_from(*number).ok(),
                        Some(IntOrString::String(name)) => pod.named_port(name),
                    };
                    let Some(target_port) = target_port else {
                        continue;
                    };
                    if !listed.contains(&(pod.pod.clone(), target_port)) {
                        ready_endpoint(&key, pod, target_port, &mut endpoints, registry);
                        seen_pods.insert((pod.pod.namespace.clone(), pod.pod.name.clone()));
                    }
                }
                for endpoint in endpoints.iter() {
                    if let Some(requests) = &endpoint.requests {
                        let pod = &endpoint.pod;
                        let pod_key = (pod.namespace.clone(), pod.name.clone());
                        local_pod(&mut table, &pod_key, requests.clone());
                    }
                }
                Some(PortRoute {
                    port,
                    node_port: node_port.filter(|_| kind == "NodePort" || kind == "LoadBalancer"),
                    endpoints,
                    cursor: AtomicUsize::new(0),
                })
            })
            .collect();
        let cluster_ip = spec.cluster_ip.as_deref().and_then(|ip| ip.parse().ok());
        let route = Arc::new(ServiceRoute {
            key: key.clone(),
            ports,
            stats,
        });
        for (index, port) in route.ports.iter().enumerate() {
            let port_ref = || PortRef {
                service: route.clone(),
                index,
            };
            if let Some(node_port) = port.node_port {
                table.node_ports.entry(node_port).or_insert_with(port_ref);
            }
            if kind == "LoadBalancer" {
                table
                    .balancer_ports
                    .entry(port.port)
                    .or_insert_with(port_ref);
            }
            if let Some(ip) = cluster_ip {
                let addr = SocketAddr::new(ip, port.port);
                table.cluster_ips.entry(addr).or_insert_with(port_ref);
            }
        }
        table
            .services
            .entry(namespace.clone())
            .or_default()
            .insert(name.clone(), route);
        seen_services.insert(key);
    }
    registry.retain(&seen_services, &seen_pods);
    table
}

/// Adds `pod`, ready on this node, to `endpoints` of `service` on `target_port`.
fn ready_endpoint(
    service: &Key,
    pod: &ReadyPod,
    target_port: u16,
    endpoints: &mut Vec<Endpoint>,
    registry: &mut Registry,
) {
    let PodKey { namespace, name } = &pod.pod;
    let Ok(forward_to) = HeaderValue::try_from(format!("{namespace}/{name}/{target_port}")) else {
        return;
    };
    let pod_key = (namespace.clone(), name.clone());
    endpoints.push(Endpoint {
        load: registry.load(&pod_key, target_port),
        answers: registry.answers(service, name),
        forwarded: None,
        requests: Some(registry.requests(&pod_key)),
        pod: pod.pod.clone(),
        target_port,
        place: Place::Local,
        forward_to,
    });
}

/// Records `requests` as the counters of local pod `pod`.
fn local_pod(table: &mut RouteTable, pod: &Key, requests: Arc<PodRequests>) {
    table
        .local_pods
        .entry(pod.0.clone())
        .or_default()
        .entry(pod.1.clone())
        .or_insert(requests);
}

/// Peer agents' addresses by node name (this node is `Local`).
fn peers(nodes: &[Arc<Node>], this_node: &str) -> HashMap<String, Place> {
    nodes
        .iter()
        .filter_map(|node| {
            let name = node.metadata.name.clone()?;
            if name == this_node {
                return Some((name, Place::Local));
            }
            let status = node.status.as_ref()?;
            let ip: IpAddr = status
                .addresses
                .iter()
                .flatten()
                .find(|a| a.type_ == "InternalIP")?
                .address
                .parse()
                .ok()?;
            let port = status
                .daemon_endpoints
                .as_ref()?
                .kubelet_endpoint
                .as_ref()?
                .port;
            let addr = SocketAddr::new(ip, u16::try_from(port).ok().filter(|p| *p != 0)?);
            let authority = Authority::try_from(addr.to_string()).ok()?;
            Some((
                name.clone(),
                Place::Peer {
                    node: name,
                    addr,
                    authority,
                },
            ))
        })
        .collect()
}

/// The pod an endpoint stands for.
fn pod_name(endpoint: &k8s_openapi::api::discovery::v1::Endpoint) -> Option<&str> {
    let target = endpoint.target_ref.as_ref()?;
    match target.kind.as_deref() {
        Some("Pod") | None => target.name.as_deref(),
        Some(_) => None,
    }
}

/// The ready endpoints of Service port `port_name`, one per pod and target port, whose
/// node is known.
fn endpoints(
    service: &Key,
    port_name: &str,
    slices: &[&EndpointSlice],
    peers: &HashMap<String, Place>,
    registry: &mut Registry,
) -> Vec<Endpoint> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for slice in slices {
        if slice.address_type != "IPv4" && slice.address_type != "IPv6" {
            continue;
        }
        // A slice names its ports after the Service's.
        let Some(target_port) = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref().unwrap_or_default() == port_name)
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok())
        else {
            continue;
        };
        for endpoint in &slice.endpoints {
            // An unset `ready` means ready (as kube-proxy reads it).
            let conditions = endpoint.conditions.as_ref();
            if conditions.and_then(|c| c.ready) == Some(false) {
                continue;
            }
            let Some(pod) = pod_name(endpoint) else {
                continue;
            };
            let namespace = endpoint
                .target_ref
                .as_ref()
                .and_then(|t| t.namespace.clone())
                .unwrap_or_else(|| service.0.clone());
            let place = match &endpoint.node_name {
                Some(node) => peers.get(node).cloned(),
                // No node named: the peer whose address it has.
                None => endpoint.addresses.iter().find_map(|address| {
                    let ip: IpAddr = address.parse().ok()?;
                    peers
                        .values()
                        .find(|p| matches!(p, Place::Peer { addr, .. } if addr.ip() == ip))
                        .cloned()
                }),
            };
            let Some(place) = place else { continue };
            if !seen.insert((namespace.clone(), pod.to_string(), target_port)) {
                continue;
            }
            let Ok(forward_to) = HeaderValue::try_from(format!("{namespace}/{pod}/{target_port}"))
            else {
                continue;
            };
            let pod_key = (namespace.clone(), pod.to_string());
            let (forwarded, requests) = match &place {
                Place::Local => (None, Some(registry.requests(&pod_key))),
                Place::Peer { node, .. } => (Some(registry.forwarded(service, node)), None),
            };
            out.push(Endpoint {
                load: registry.load(&pod_key, target_port),
                answers: registry.answers(service, pod),
                forwarded,
                requests,
                pod: PodKey {
                    namespace,
                    name: pod.to_string(),
                },
                target_port,
                place,
                forward_to,
            });
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
