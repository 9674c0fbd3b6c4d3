//! The data plane's metrics in the Prometheus text format (0.0.4), served at
//! `GET /metrics` on the agent's endpoint ([`render`]):
//!
//! - `skiff_requests_total{namespace,service,pod,code}` — Service requests this agent
//!   routed, by the pod that answered (`pod=""`: none did) and status code;
//! - `skiff_request_duration_seconds{namespace,service}` — their time to the response
//!   head, a histogram;
//! - `skiff_forwarded_requests_total{namespace,service,node}` — those sent to a peer;
//! - `skiff_forwarded_requests_received_total` — requests peers sent here;
//! - `skiff_requests_in_flight{namespace,pod}` and `skiff_requests_queued{namespace,pod}`
//!   — what this node's HTTP pods are executing and holding in their queues;
//! - `skiff_http_servers` and `skiff_instances_running` — HTTP containers serving on
//!   this node, and wasm instances they are running.

use super::local::LocalPods;
use super::stats::{DURATION_BUCKETS, Registry};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;

/// The `Content-Type` of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metrics as Prometheus text.
pub(crate) fn render(registry: &Registry, local: &LocalPods, received: u64) -> String {
    let mut out = String::with_capacity(4096);

    header(
        &mut out,
        "skiff_requests_total",
        "counter",
        "Service requests this agent routed, by answering pod and status code.",
    );
    let mut rows = BTreeMap::new();
    for ((service, pod), answers) in &registry.answers {
        for (code, count) in answers.snapshot() {
            rows.insert((service.clone(), pod.clone(), code), count);
        }
    }
    for (service, stats) in &registry.services {
        for (code, count) in stats.unrouted.snapshot() {
            rows.insert((service.clone(), String::new(), code), count);
        }
    }
    for (((namespace, service), pod, code), count) in rows {
        let labels = [
            ("namespace", &*namespace),
            ("service", &service),
            ("pod", &pod),
            ("code", &code.to_string()),
        ];
        sample(&mut out, "skiff_requests_total", &labels, count);
    }

    header(
        &mut out,
        "skiff_request_duration_seconds",
        "histogram",
        "Time from taking a Service request to its response head.",
    );
    let services: BTreeMap<_, _> = registry.services.iter().collect();
    for ((namespace, service), stats) in services {
        let (buckets, sum) = stats.durations.snapshot();
        let Some(&count) = buckets.last() else {
            continue;
        };
        if count == 0 {
            continue;
        }
        let bounds = DURATION_BUCKETS
            .iter()
            .map(|b| b.to_string())
            .chain(["+Inf".to_string()]);
        for (bound, cumulative) in bounds.zip(&buckets) {
            let labels = [
                ("namespace", namespace.as_str()),
                ("service", service),
                ("le", &bound),
            ];
            sample(
                &mut out,
                "skiff_request_duration_seconds_bucket",
                &labels,
                *cumulative,
            );
        }
        let labels = [
            ("namespace", namespace.as_str()),
            ("service", service.as_str()),
        ];
        sample(&mut out, "skiff_request_duration_seconds_sum", &labels, sum);
        sample(
            &mut out,
            "skiff_request_duration_seconds_count",
            &labels,
            count,
        );
    }

    header(
        &mut out,
        "skiff_forwarded_requests_total",
        "counter",
        "Service requests this agent sent to a peer agent, by the peer's node.",
    );
    let forwarded: BTreeMap<_, _> = registry.forwarded.iter().collect();
    for (((namespace, service), node), count) in forwarded {
        let labels = [
            ("namespace", namespace.as_str()),
            ("service", service),
            ("node", node),
        ];
        sample(
            &mut out,
            "skiff_forwarded_requests_total",
            &labels,
            count.load(Ordering::Relaxed),
        );
    }

    header(
        &mut out,
        "skiff_forwarded_requests_received_total",
        "counter",
        "Requests peer agents forwarded to this node's pods.",
    );
    sample(
        &mut out,
        "skiff_forwarded_requests_received_total",
        &[],
        received,
    );

    // One handler may serve several ports: count it once.
    let mut servers = BTreeMap::new();
    for (pod, _, served) in local.all() {
        servers
            .entry((pod.namespace, pod.name, served.container.clone()))
            .or_insert(served);
    }
    let mut pods: BTreeMap<(String, String), (usize, usize)> = BTreeMap::new();
    let mut serving = 0;
    let mut running = 0;
    for ((namespace, name, _), served) in &servers {
        let entry = pods.entry((namespace.clone(), name.clone())).or_default();
        entry.0 += served.handler.in_flight();
        entry.1 += served.handler.queued();
        running += served.handler.in_flight();
        serving += usize::from(!served.is_draining());
    }
    header(
        &mut out,
        "skiff_requests_in_flight",
        "gauge",
        "Requests this node's HTTP pods are executing.",
    );
    for ((namespace, pod), (in_flight, _)) in &pods {
        sample(
            &mut out,
            "skiff_requests_in_flight",
            &[("namespace", namespace), ("pod", pod)],
            in_flight,
        );
    }
    header(
        &mut out,
        "skiff_requests_queued",
        "gauge",
        "Requests waiting for a free slot in this node's HTTP pods.",
    );
    for ((namespace, pod), (_, queued)) in &pods {
        sample(
            &mut out,
            "skiff_requests_queued",
            &[("namespace", namespace), ("pod", pod)],
            queued,
        );
    }
    header(
        &mut out,
        "skiff_http_servers",
        "gauge",
        "HTTP containers serving on this node.",
    );
    sample(&mut out, "skiff_http_servers", &[], serving);
    header(
        &mut out,
        "skiff_instances_running",
        "gauge",
        "Wasm instances this node's HTTP containers are running.",
    );
    sample(&mut out, "skiff_instances_running", &[], running);
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push_str("=\"");
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let mut registry = Registry::default();
        let web = ("default".to_string(), "web".to_string());
        registry.answers(&web, "web-1").add(200);
        registry.answers(&web, "web-1").add(200);
        registry.answers(&web, "web-2").add(500);
        let stats = registry.service(&web);
        stats.unrouted.add(503);
        stats.durations.observe(Duration::from_micros(300));
        stats.durations.observe(Duration::from_millis(30));
        registry
            .forwarded(&web, "b")
            .fetch_add(4, Ordering::Relaxed);
        let text = render(&registry, &LocalPods::default(), 7);

        for line in [
            "# TYPE skiff_requests_total counter",
            r#"skiff_requests_total{namespace="default",service="web",pod="",code="503"} 1"#,
            r#"skiff_requests_total{namespace="default",service="web",pod="web-1",code="200"} 2"#,
            r#"skiff_requests_total{namespace="default",service="web",pod="web-2",code="500"} 1"#,
            "# TYPE skiff_request_duration_seconds histogram",
            r#"skiff_request_duration_seconds_bucket{namespace="default",service="web",le="0.0005"} 1"#,
            r#"skiff_request_duration_seconds_bucket{namespace="default",service="web",le="0.025"} 1"#,
            r#"skiff_request_duration_seconds_bucket{namespace="default",service="web",le="0.05"} 2"#,
            r#"skiff_request_duration_seconds_bucket{namespace="default",service="web",le="+Inf"} 2"#,
            r#"skiff_request_duration_seconds_count{namespace="default",service="web"} 2"#,
            r#"skiff_forwarded_requests_total{namespace="default",service="web",node="b"} 4"#,
            "skiff_forwarded_requests_received_total 7",
            "# TYPE skiff_requests_in_flight gauge",
            "skiff_http_servers 0",
            "skiff_instances_running 0",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
        let sum = text
            .lines()
            .find_map(|l| {
                l.strip_prefix(
                    r#"skiff_request_duration_seconds_sum{namespace="default",service="web"} "#,
                )
            })
            .expect("sum");
        assert!(
            (sum.parse::<f64>().expect("number") - 0.0303).abs() < 1e-9,
            "{sum}"
        );
        // Every sample line is `name{labels} value` or `name value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').expect("a value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("a", "x\"y\\z\nw")], 1);
        assert_eq!(out, "m{a=\"x\\\"y\\\\z\\nw\"} 1\n");
    }
}
