//! Allocation of a Service's cluster IP and nodePorts in the write path, as Kubernetes'
//! service registry allocates them: a virtual `spec.clusterIP` from [`SERVICE_CIDR`] and a
//! `nodePort` from [`NODE_PORT_MIN`]–[`NODE_PORT_MAX`] for every port of a `NodePort` or
//! `LoadBalancer` Service that has none; values a writer asks for must be in range and
//! free, else the write is `422 Invalid` with Kubernetes' wording.
//!
//! What is taken is read from the store (the watch cache, which reads its own writes)
//! while [`Allocator`](allocator::Allocator)'s lock is held, and the lock is kept until the object is written:
//! two concurrent creates can never pick the same value. Nothing is kept besides the
//! Services themselves, so deleting a Service, or changing it back to `ClusterIP`, frees
//! its values with no bookkeeping to go stale.
//!
//! Parts: [`allocator`] holds the lock ([`Allocator`](allocator::Allocator)) that
//! [`ApiState`] shares;
//! [`service`] knows a Service's shape: which values it needs, and what an update keeps.

pub mod allocator;
pub mod service;

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::ApiState;
use allocator::Reservation;
use serde_json::{Value, json};
use service::{
    HEADLESS, NODE_PORT_MAX, NODE_PORT_MIN, cluster_ip, needs_cluster_ip, needs_node_ports,
    node_ports,
};
use skiff_model::field::FieldCause;
use skiff_model::kinds::ResourceKind;
use std::collections::HashSet;
use std::net::Ipv4Addr;

/// The virtual IP range of Services: Kubernetes' default `--service-cluster-ip-range`, so
/// that addresses look as users expect. They are never routed: Skiff's data plane
/// recognizes them in outbound requests.
pub const SERVICE_CIDR: &str = "10.96.0.0/12";
/// The first address of [`SERVICE_CIDR`].
const RANGE_BASE: Ipv4Addr = Ipv4Addr::new(10, 96, 0, 0);
/// The number of addresses in [`SERVICE_CIDR`].
const RANGE_SIZE: u32 = 1 << 20;
/// The first addresses of the range never handed out: the network address, and `.1`,
/// which Kubernetes keeps for the `kubernetes` Service.
const RESERVED_LOW: u32 = 2;
/// NodePorts at the bottom of the range that automatic allocation uses only once the rest
/// is full, so that ports users pick by number rarely collide with allocated ones
/// (Kubernetes' static band: `min(max(16, size / 32), 128)` ports, 86 for the default
/// range).
const STATIC_BAND: i64 = 86;

/// Allocates what the Service `new` (at `key`; `old` is the stored version on update) lacks
/// and checks what it asks for. Other kinds pass unchanged. Returns the reservation to hold
/// until the write is done.
pub async fn allocate(
    state: &ApiState,
    kind: &ResourceKind,
    key: &str,
    old: Option<&Value>,
    new: &mut Value,
) -> ApiResult<Reservation> {
    if kind.kind != "Service" || !kind.group.is_empty() {
        return Ok(None);
    }
    let wanted = Wanted::of(old, new);
    if wanted.is_empty() {
        finish(new);
        return Ok(None);
    }
    let guard = state.allocator.reserve().await;
    let taken = Taken::read(state, kind, key).await?;
    let name = new
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let causes = wanted.check(&taken);
    if !causes.is_empty() {
        return Err(ApiError::invalid("Service", &name, causes));
    }
    let mut taken = taken;
    if wanted.cluster_ip {
        let ip = taken.free_ip().ok_or_else(|| {
            ApiError::service_unavailable(format!(
                "failed to allocate a serviceIP: range {SERVICE_CIDR} is full"
            ))
        })?;
        new["spec"]["clusterIP"] = json!(ip.to_string());
    }
    for &i in &wanted.node_ports {
        let port = taken.free_node_port().ok_or_else(|| {
            ApiError::service_unavailable(format!(
                "failed to allocate a nodePort: range {NODE_PORT_MIN}-{NODE_PORT_MAX} is full"
            ))
        })?;
        new["spec"]["ports"][i]["nodePort"] = json!(port);
        taken.node_ports.insert(port);
    }
    finish(new);
    Ok(Some(guard))
}

/// What a write asks of the allocator.
struct Wanted {
    /// A cluster IP to allocate.
    cluster_ip: bool,
    /// A cluster IP the writer chose that the old object did not have.
    requested_ip: Option<String>,
    /// Indexes of the ports that need a nodePort allocated.
    node_ports: Vec<usize>,
    /// NodePorts the writer chose that the old object did not have, with their indexes.
    requested_ports: Vec<(usize, i64)>,
}

impl Wanted {
    fn of(old: Option<&Value>, new: &Value) -> Self {
        let old_ip = old.and_then(cluster_ip);
        let new_ip = cluster_ip(new).filter(|_| needs_cluster_ip(new));
        let old_ports: Vec<i64> = old
            .map(node_ports)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let (node_ports_wanted, requested_ports) = if needs_node_ports(new) {
            let given = node_ports(new);
            let count = new
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let missing = (0..count)
                .filter(|i| !given.iter().any(|(j, _)| j == i))
                .collect();
            let requested = given
                .into_iter()
                .filter(|(_, n)| !old_ports.contains(n))
                .collect();
            (missing, requested)
        } else {
            (Vec::new(), Vec::new())
        };
        Self {
            cluster_ip: needs_cluster_ip(new) && new_ip.is_none(),
            requested_ip: new_ip
                .filter(|ip| *ip != HEADLESS && Some(*ip) != old_ip)
                .map(String::from),
            node_ports: node_ports_wanted,
            requested_ports,
        }
    }

    fn is_empty(&self) -> bool {
        !self.cluster_ip
            && self.requested_ip.is_none()
            && self.node_ports.is_empty()
            && self.requested_ports.is_empty()
    }

    /// The requested values that are out of range or taken, as Kubernetes words them.
    fn check(&self, taken: &Taken) -> Vec<FieldCause> {
        let mut causes = Vec::new();
        if let Some(ip) = &self.requested_ip {
            let why = match ip.parse::<Ipv4Addr>().ok().and_then(offset) {
                None => Some(format!(
                    "provided IP is not in the valid range. The range of valid IPs is {SERVICE_CIDR}"
                )),
                Some(o) if taken.ips.contains(&o) => {
                    Some("provided IP is already allocated".to_string())
                }
                Some(_) => None,
            };
            if let Some(why) = why {
                causes.push(FieldCause {
                    kind: "FieldValueInvalid",
                    field: "spec.clusterIPs".into(),
                    message: format!(
                        "Invalid value: []string{{{ip:?}}}: failed to allocate IP {ip}: {why}"
                    ),
                });
            }
        }
        for &(i, port) in &self.requested_ports {
            let why = if !(NODE_PORT_MIN..=NODE_PORT_MAX).contains(&port) {
                format!(
                    "provided port is not in the valid range. The range of valid ports is \
                     {NODE_PORT_MIN}-{NODE_PORT_MAX}"
                )
            } else if taken.node_ports.contains(&port) {
                "provided port is already allocated".to_string()
            } else {
                continue;
            };
            causes.push(FieldCause {
                kind: "FieldValueInvalid",
                field: format!("spec.ports[{i}].nodePort"),
                message: format!("Invalid value: {port}: {why}"),
            });
        }
        causes
    }
}

/// The cluster IPs (as offsets into the range) and nodePorts of every other Service.
struct Taken {
    ips: HashSet<u32>,
    node_ports: HashSet<i64>,
}

impl Taken {
    /// Reads every Service but the one at `key`.
    async fn read(state: &ApiState, kind: &ResourceKind, key: &str) -> ApiResult<Self> {
        let list = state
            .store
            .list(&kind.key_prefix(None))
            .await
            .map_err(crate::apiserver::state::store_error)?;
        let mut taken = Self {
            ips: HashSet::new(),
            node_ports: HashSet::new(),
        };
        for item in list.items.iter().filter(|kv| kv.key != key) {
            let Ok(service) = serde_json::from_slice::<Value>(&item.value) else {
                continue;
            };
            if let Some(o) = cluster_ip(&service)
                .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
                .and_then(offset)
            {
                taken.ips.insert(o);
            }
            taken
                .node_ports
                .extend(node_ports(&service).into_iter().map(|(_, n)| n));
        }
        Ok(taken)
    }

    /// A free address, from a random point of the range onwards.
    fn free_ip(&self) -> Option<Ipv4Addr> {
        let usable = RANGE_SIZE - RESERVED_LOW - 1;
        let start = (random() % u128::from(usable)) as u32;
        (0..usable)
            .map(|i| RESERVED_LOW + (start + i) % usable)
            .find(|o| !self.ips.contains(o))
            .map(|o| Ipv4Addr::from(RANGE_BASE.to_bits() + o))
    }

    /// A free nodePort: from a random point of the dynamic band onwards, then the static
    /// band.
    fn free_node_port(&self) -> Option<i64> {
        let dynamic = NODE_PORT_MIN + STATIC_BAND..=NODE_PORT_MAX;
        let size = NODE_PORT_MAX - (NODE_PORT_MIN + STATIC_BAND) + 1;
        let start = (random() % size as u128) as i64;
        (0..size)
            .map(|i| dynamic.start() + (start + i) % size)
            .chain(NODE_PORT_MIN..NODE_PORT_MIN + STATIC_BAND)
            .find(|p| !self.node_ports.contains(p))
    }
}

/// The offset of `ip` in the range, if it is in it and may be handed out.
fn offset(ip: Ipv4Addr) -> Option<u32> {
    let o = ip.to_bits().checked_sub(RANGE_BASE.to_bits())?;
    (RESERVED_LOW..RANGE_SIZE - 1).contains(&o).then_some(o)
}

/// Random bits (from the OS generator behind v4 UUIDs).
fn random() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// Sets what follows from the allocated values: `clusterIPs` mirrors `clusterIP`, and the
/// IP family fields say IPv4 single-stack; an `ExternalName` Service has none of them.
fn finish(service: &mut Value) {
    let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let external = spec.get("type").and_then(Value::as_str) == Some("ExternalName");
    if external {
        return;
    }
    if let Some(ip) = spec
        .get("clusterIP")
        .and_then(Value::as_str)
        .filter(|ip| !ip.is_empty())
    {
        let ip = json!([ip]);
        spec.insert("clusterIPs".into(), ip);
    }
    let families = spec
        .get("ipFamilies")
        .and_then(Value::as_array)
        .is_some_and(|f| !f.is_empty());
    if !families {
        spec.insert("ipFamilies".into(), json!(["IPv4"]));
    }
    if spec.get("ipFamilyPolicy").is_none_or(Value::is_null) {
        spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_keeps_its_first_addresses_and_broadcast() {
        assert_eq!(offset(Ipv4Addr::new(10, 96, 0, 0)), None);
        assert_eq!(offset(Ipv4Addr::new(10, 96, 0, 1)), None);
        assert_eq!(offset(Ipv4Addr::new(10, 96, 0, 2)), Some(2));
        assert_eq!(
            offset(Ipv4Addr::new(10, 111, 255, 254)),
            Some(RANGE_SIZE - 2)
        );
        assert_eq!(offset(Ipv4Addr::new(10, 111, 255, 255)), None);
        assert_eq!(offset(Ipv4Addr::new(10, 112, 0, 2)), None);
        assert_eq!(offset(Ipv4Addr::new(10, 95, 255, 255)), None);
    }

    #[test]
    fn free_values_skip_taken_ones_and_fill_the_static_band_last() {
        let mut taken = Taken {
            ips: HashSet::new(),
            node_ports: (NODE_PORT_MIN + STATIC_BAND..=NODE_PORT_MAX).collect(),
        };
        assert_eq!(taken.free_node_port(), Some(NODE_PORT_MIN));
        taken.node_ports.extend(NODE_PORT_MIN..NODE_PORT_MAX);
        assert_eq!(taken.free_node_port(), None);
        for _ in 0..100 {
            let ip = taken.free_ip().expect("free");
            let o = offset(ip).expect("in range");
            assert!(taken.ips.insert(o), "{ip} handed out twice");
        }
    }

    #[test]
    fn finish_mirrors_the_cluster_ip() {
        let mut s = json!({"spec": {"clusterIP": "10.96.3.4"}});
        finish(&mut s);
        assert_eq!(s["spec"]["clusterIPs"], json!(["10.96.3.4"]));
        assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
        assert_eq!(s["spec"]["ipFamilyPolicy"], "SingleStack");
        let mut e = json!({"spec": {"type": "ExternalName", "externalName": "x.example"}});
        finish(&mut e);
        assert!(e["spec"].get("ipFamilies").is_none());
    }
}
