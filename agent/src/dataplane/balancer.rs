//! Choosing an endpoint for a request: the one with the fewest requests this agent has
//! outstanding on it; on a tie, one on this node (no network hop); among equals, the next
//! in turn (a cursor per Service port rotates where the scan starts, so idle endpoints
//! share the work instead of the first one taking it all).

use super::table::PortRoute;
use std::sync::atomic::Ordering;

/// Endpoints compared per choice. Past this many, the scan covers a window that moves
/// with the cursor: the choice stays O(1) for Services with thousands of pods, and the
/// window still avoids busy endpoints well (the power of many choices).
pub const SCAN_WINDOW: usize = 64;

/// The index of the endpoint of `port` to send a request to, skipping those in `tried`;
/// `None` when none is left.
pub(crate) fn pick(port: &PortRoute, tried: &[usize]) -> Option<usize> {
    let endpoints = &port.endpoints;
    let n = endpoints.len();
    if n == 0 {
        return None;
    }
    let start = port.cursor.fetch_add(1, Ordering::Relaxed) % n;
    let mut best: Option<(usize, (usize, bool))> = None;
    for step in 0..n {
        if step >= SCAN_WINDOW && best.is_some() {
            break;
        }
        let index = (start + step) % n;
        if tried.contains(&index) {
            continue;
        }
        let endpoint = &endpoints[index];
        let rank = (endpoint.load.load(Ordering::Relaxed), !endpoint.is_local());
        if best.is_none_or(|(_, best)| rank < best) {
            best = Some((index, rank));
            if rank == (0, false) {
                break; // Nothing beats an idle local endpoint.
            }
        }
    }
    best.map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::local::PodKey;
    use crate::dataplane::table::{Endpoint, Place};
    use http::HeaderValue;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    fn endpoint(name: &str, local: bool, load: usize) -> Endpoint {
        let addr: std::net::SocketAddr = "127.0.0.9:1".parse().expect("addr");
        Endpoint {
            pod: PodKey {
                namespace: "default".into(),
                name: name.into(),
            },
            target_port: 8080,
            place: if local {
                Place::Local
            } else {
                Place::Peer {
                    node: "peer".into(),
                    addr,
                    authority: addr.to_string().parse().expect("authority"),
                }
            },
            forward_to: HeaderValue::from_static("default/x/8080"),
            load: Arc::new(AtomicUsize::new(load)),
            answers: Arc::default(),
            forwarded: None,
            requests: None,
        }
    }

    fn port(endpoints: Vec<Endpoint>) -> PortRoute {
        PortRoute {
            port: 80,
            node_port: None,
            endpoints,
            cursor: AtomicUsize::new(0),
        }
    }

    fn name(port: &PortRoute, index: Option<usize>) -> Option<&str> {
        index.map(|i| port.endpoints[i].pod.name.as_str())
    }

    #[test]
    fn the_least_loaded_endpoint_wins() {
        let p = port(vec![
            endpoint("busy", true, 5),
            endpoint("idle", false, 0),
            endpoint("some", true, 2),
        ]);
        for _ in 0..3 {
            assert_eq!(name(&p, pick(&p, &[])), Some("idle"));
        }
        p.endpoints[1].load.store(9, Ordering::Relaxed);
        assert_eq!(name(&p, pick(&p, &[])), Some("some"));
    }

    #[test]
    fn ties_prefer_local_endpoints_then_take_turns() {
        let p = port(vec![
            endpoint("remote-1", false, 1),
            endpoint("local-1", true, 1),
            endpoint("remote-2", false, 1),
            endpoint("local-2", true, 1),
        ]);
        let picks: Vec<_> = (0..4).map(|_| name(&p, pick(&p, &[]))).collect();
        assert!(
            picks
                .iter()
                .all(|n| n.is_some_and(|n| n.starts_with("local"))),
            "{picks:?}"
        );
        assert!(
            picks.contains(&Some("local-1")) && picks.contains(&Some("local-2")),
            "{picks:?}"
        );
        // A remote endpoint with less load still beats a local one.
        p.endpoints[2].load.store(0, Ordering::Relaxed);
        assert_eq!(name(&p, pick(&p, &[])), Some("remote-2"));
    }

    #[test]
    fn tried_endpoints_are_skipped() {
        let p = port(vec![endpoint("a", true, 0), endpoint("b", false, 3)]);
        assert_eq!(name(&p, pick(&p, &[0])), Some("b"));
        assert_eq!(pick(&p, &[0, 1]), None);
        assert_eq!(pick(&port(Vec::new()), &[]), None);
    }

    #[test]
    fn large_services_scan_a_moving_window() {
        let endpoints = (0..SCAN_WINDOW * 4)
            .map(|i| endpoint(&format!("p{i}"), false, 1))
            .collect();
        let p = port(endpoints);
        // The one idle endpoint is found once the window reaches it.
        let idle = SCAN_WINDOW * 3 + 5;
        p.endpoints[idle].load.store(0, Ordering::Relaxed);
        let found = (0..SCAN_WINDOW * 4).any(|_| pick(&p, &[]) == Some(idle));
        assert!(found);
    }
}
