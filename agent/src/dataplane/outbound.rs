//! What a pod's guests may call with `wasi:http/outgoing-handler` ([`PodOutbound`]):
//!
//! - a Service, by name — `NAME` (in the pod's namespace), `NAME.NS`, `NAME.NS.svc`,
//!   `NAME.NS.svc.cluster.local` — or by its cluster IP, on one of its ports (port 80
//!   when the URL names none): routed like any Service request ([`resolve`]);
//! - another host only if the pod's [`ALLOWED_OUTBOUND_HOSTS`] annotation lists it
//!   ([`AllowList`]): sent straight to it;
//! - anything else is refused (`HTTP-request-denied`), and the pod's denial hook hears
//!   why.

use super::body::ProxyBody;
use super::shared::Core;
use super::table::{PortRef, RouteTable};
use http_body_util::BodyExt;
use skiff_runtime::http::outbound::{
    HttpError, OutboundRoute, RequestOptions, SendFuture, WasiBody, send_direct,
};
use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};

/// Called with a message each time a guest's outgoing request is refused.
pub type DeniedHook = Arc<dyn Fn(String) + Send + Sync>;

/// The pod annotation listing the hosts outside the cluster its guests may call:
/// comma-separated host names, `*.example.com` for every subdomain, `host:port` for one
/// port only, `*` for any host.
pub const ALLOWED_OUTBOUND_HOSTS: &str = "skiff.dev/allowed-outbound-hosts";

/// The cluster's DNS domain, as Service host names end.
pub const CLUSTER_DOMAIN: &str = "cluster.local";

/// The port of a Service URL that names none (`http://backend/`).
pub const DEFAULT_SERVICE_PORT: u16 = 80;

/// How a host and port resolve.
pub(crate) enum Resolved {
    /// To this Service port.
    Service(PortRef),
    /// To a Service that has no such port.
    NoSuchPort(String),
    /// To nothing in the cluster.
    External,
}

/// Resolves `host` (lowercase, as in a URL) and `port` from a pod in `namespace`.
pub(crate) fn resolve(table: &RouteTable, namespace: &str, host: &str, port: u16) -> Resolved {
    let host = host.strip_suffix('.').unwrap_or(host);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match table.cluster_ip(SocketAddr::new(ip, port)) {
            Some(target) => Resolved::Service(target.clone()),
            None => Resolved::External,
        };
    }
    let labels: Vec<&str> = host.split('.').collect();
    let (service_namespace, name) = match labels.as_slice() {
        [name] => (namespace, *name),
        [name, ns] | [name, ns, "svc"] => (*ns, *name),
        [name, ns, "svc", rest @ ..] if rest.join(".") == CLUSTER_DOMAIN => (*ns, *name),
        _ => return Resolved::External,
    };
    let Some(service) = table.service(service_namespace, name) else {
        return Resolved::External;
    };
    match service.ports.iter().position(|p| p.port == port) {
        Some(index) => Resolved::Service(PortRef {
            service: service.clone(),
            index,
        }),
        None => Resolved::NoSuchPort(service.display()),
    }
}

/// The hosts outside the cluster a pod may call, from its annotation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AllowList(Vec<Rule>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    host: HostPattern,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`, kept as `.example.com`.
    Subdomains(String),
    Exact(String),
}

impl AllowList {
    /// Parses the annotation's value; entries that make no sense are skipped.
    pub(crate) fn parse(value: &str) -> Self {
        let rules = value
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .filter_map(|entry| {
                let entry = entry.to_ascii_lowercase();
                let entry = entry
                    .strip_prefix("http://")
                    .or_else(|| entry.strip_prefix("https://"))
                    .unwrap_or(&entry)
                    .trim_end_matches('/');
                let (host, port) = match entry.rsplit_once(':') {
                    Some((host, port)) if !host.ends_with(':') => (host, Some(port.parse().ok()?)),
                    _ => (entry, None),
                };
                let host = match host {
                    "*" => HostPattern::Any,
                    _ => match host.strip_prefix("*.") {
                        Some(domain) if !domain.is_empty() => {
                            HostPattern::Subdomains(format!(".{domain}"))
                        }
                        Some(_) => return None,
                        None if host.is_empty() => return None,
                        None => HostPattern::Exact(host.to_string()),
                    },
                };
                Some(Rule { host, port })
            })
            .collect();
        Self(rules)
    }

    /// Whether `host` (lowercase) on `port` is allowed.
    pub(crate) fn allows(&self, host: &str, port: u16) -> bool {
        let host = host.strip_suffix('.').unwrap_or(host);
        self.0.iter().any(|rule| {
            let host_ok = match &rule.host {
                HostPattern::Any => true,
                HostPattern::Subdomains(suffix) => {
                    host.len() > suffix.len() && host.ends_with(suffix.as_str())
                }
                HostPattern::Exact(exact) => exact == host,
            };
            host_ok && rule.port.is_none_or(|p| p == port)
        })
    }
}

/// The outbound route of one pod's guests.
pub(crate) struct PodOutbound {
    core: Weak<Core>,
    namespace: String,
    allow: AllowList,
    denied: DeniedHook,
}

impl PodOutbound {
    /// The route of a pod in `namespace` with `allow`; `denied` hears of refusals.
    pub(crate) fn new(
        core: Weak<Core>,
        namespace: String,
        allow: AllowList,
        denied: DeniedHook,
    ) -> Self {
        Self {
            core,
            namespace,
            allow,
            denied,
        }
    }
}

impl OutboundRoute for PodOutbound {
    fn send(
        &self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
    ) -> SendFuture {
        let uri = request.uri();
        let Some(host) = uri.host() else {
            return Box::pin(async { Err(HttpError::HttpRequestUriInvalid) });
        };
        let host: Cow<'_, str> = if host.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(host.to_ascii_lowercase())
        } else {
            Cow::Borrowed(host)
        };
        let Some(core) = self.core.upgrade() else {
            // The agent is stopping.
            return Box::pin(async { Err(HttpError::ConnectionRefused) });
        };
        let port = uri.port_u16();
        let resolved = resolve(
            &core.table(),
            &self.namespace,
            &host,
            port.unwrap_or(DEFAULT_SERVICE_PORT),
        );
        match resolved {
            Resolved::Service(target) => {
                drop(host);
                let first_byte = options.and_then(|o| o.first_byte_timeout);
                Box::pin(async move {
                    let routed = core.proxy.route(&target, request.map(ProxyBody::boxed));
                    let response = match first_byte {
                        Some(limit) => tokio::time::timeout(limit, routed)
                            .await
                            .map_err(|_| HttpError::HttpResponseTimeout)?,
                        None => routed.await,
                    };
                    Ok(response.map(BodyExt::boxed_unsync))
                })
            }
            Resolved::NoSuchPort(service) => {
                tracing::debug!(%service, ?port, "outgoing request to a port the Service lacks");
                Box::pin(async { Err(HttpError::ConnectionRefused) })
            }
            Resolved::External => {
                let scheme_port = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
                    443
                } else {
                    80
                };
                if self.allow.allows(&host, port.unwrap_or(scheme_port)) {
                    return send_direct(request, options);
                }
                (self.denied)(format!(
                    "outbound request to {host} denied: not an in-cluster Service and not in \
                     the pod's {ALLOWED_OUTBOUND_HOSTS} annotation"
                ));
                Box::pin(async { Err(HttpError::HttpRequestDenied) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataplane::stats::Registry;
    use crate::dataplane::table::tests::{node, service, slice};
    use crate::dataplane::table::{ClusterObjects, build};

    fn table() -> RouteTable {
        let mut other = service("db", "ClusterIP", "10.96.0.20", &[("", 5432, None)]);
        Arc::make_mut(&mut other).metadata.namespace = Some("data".into());
        let objects = ClusterObjects {
            services: vec![
                service(
                    "backend",
                    "ClusterIP",
                    "10.96.0.10",
                    &[("http", 80, None), ("alt", 8081, None)],
                ),
                other,
            ],
            slices: vec![slice(
                "backend",
                &[("http", 8080)],
                &[("b-1", "a", Some(true))],
            )],
            nodes: vec![node("a", "127.0.0.2:10250".parse().expect("addr"))],
        };
        build(&objects, &[], "a", &mut Registry::default())
    }

    fn resolved(table: &RouteTable, host: &str, port: u16) -> String {
        match resolve(table, "default", host, port) {
            Resolved::Service(target) => {
                format!("{}:{}", target.service.display(), target.port().port)
            }
            Resolved::NoSuchPort(service) => format!("no port of {service}"),
            Resolved::External => "external".into(),
        }
    }

    #[test]
    fn service_names_resolve_in_every_form() {
        let t = table();
        for host in [
            "backend",
            "backend.default",
            "backend.default.svc",
            "backend.default.svc.cluster.local",
            "backend.default.svc.cluster.local.",
            "10.96.0.10",
        ] {
            assert_eq!(resolved(&t, host, 80), "default/backend:80", "{host}");
        }
        assert_eq!(resolved(&t, "backend", 8081), "default/backend:8081");
        assert_eq!(resolved(&t, "db.data.svc", 5432), "data/db:5432");
    }

    #[test]
    fn other_names_are_external() {
        let t = table();
        // `db` lives in another namespace than the pod's.
        assert_eq!(resolved(&t, "db", 5432), "external");
        assert_eq!(resolved(&t, "backend.other", 80), "external");
        assert_eq!(
            resolved(&t, "backend.default.svc.example.com", 80),
            "external"
        );
        assert_eq!(resolved(&t, "example.com", 80), "external");
        assert_eq!(resolved(&t, "10.96.0.99", 80), "external");
        assert_eq!(resolved(&t, "backend", 9999), "no port of default/backend");
        assert_eq!(resolved(&t, "10.96.0.10", 9999), "external");
    }

    #[test]
    fn the_allow_list_matches_hosts_wildcards_and_ports() {
        let allow = AllowList::parse(
            " api.example.com, *.cdn.example.org ,db.internal:5432, https://Upper.Example.com/,bad:port, *.",
        );
        assert!(allow.allows("api.example.com", 443));
        assert!(allow.allows("api.example.com", 80));
        assert!(!allow.allows("example.com", 80));
        assert!(!allow.allows("x.api.example.com", 80));
        assert!(allow.allows("img.cdn.example.org", 80));
        assert!(allow.allows("a.b.cdn.example.org", 80));
        assert!(
            !allow.allows("cdn.example.org", 80),
            "the wildcard needs a subdomain"
        );
        assert!(allow.allows("db.internal", 5432));
        assert!(!allow.allows("db.internal", 5433));
        assert!(allow.allows("upper.example.com", 443));
        assert!(!allow.allows("bad", 80));
        assert!(AllowList::parse("*").allows("anything.at.all", 1));
        assert!(!AllowList::parse("").allows("localhost", 80));
    }
}
