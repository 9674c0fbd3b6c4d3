//! The node's resource figures as Prometheus series, named and labelled as the kubelet's
//! `/metrics/resource` names them ([`render`]): `container_cpu_usage_seconds_total` and
//! `container_memory_working_set_bytes` `{container,namespace,pod}`,
//! `pod_cpu_usage_seconds_total` and `pod_memory_working_set_bytes` `{namespace,pod}`,
//! `node_cpu_usage_seconds_total` and `node_memory_working_set_bytes` — each sample
//! stamped with when it was read, as the kubelet does. A pod's figures are the sums over
//! its containers; the node's include init containers and pods that left.

use super::snapshot::Snapshot;
use std::fmt::Write;

/// The series as Prometheus text (format 0.0.4).
pub fn render(snapshot: &Snapshot) -> String {
    let mut out = String::with_capacity(256 + snapshot.pods.len() * 512);
    let at = snapshot.timestamp_millis;

    family(
        &mut out,
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed by the container in core-seconds",
    );
    for pod in &snapshot.pods {
        for c in &pod.containers {
            let labels = [
                ("container", c.name.as_str()),
                ("namespace", &pod.namespace),
                ("pod", &pod.name),
            ];
            sample(
                &mut out,
                "container_cpu_usage_seconds_total",
                &labels,
                seconds(c.cpu_nanos),
                at,
            );
        }
    }
    family(
        &mut out,
        "container_memory_working_set_bytes",
        "gauge",
        "Current working set of the container in bytes",
    );
    for pod in &snapshot.pods {
        for c in &pod.containers {
            let labels = [
                ("container", c.name.as_str()),
                ("namespace", &pod.namespace),
                ("pod", &pod.name),
            ];
            sample(
                &mut out,
                "container_memory_working_set_bytes",
                &labels,
                c.memory_bytes,
                at,
            );
        }
    }
    family(
        &mut out,
        "pod_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed by the pod in core-seconds",
    );
    for pod in &snapshot.pods {
        let labels = [("namespace", pod.namespace.as_str()), ("pod", &pod.name)];
        let cpu = seconds(Snapshot::pod_cpu_nanos(pod));
        sample(&mut out, "pod_cpu_usage_seconds_total", &labels, cpu, at);
    }
    family(
        &mut out,
        "pod_memory_working_set_bytes",
        "gauge",
        "Current working set of the pod in bytes",
    );
    for pod in &snapshot.pods {
        let labels = [("namespace", pod.namespace.as_str()), ("pod", &pod.name)];
        let memory = Snapshot::pod_memory_bytes(pod);
        sample(
            &mut out,
            "pod_memory_working_set_bytes",
            &labels,
            memory,
            at,
        );
    }
    family(
        &mut out,
        "node_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed by the node in core-seconds",
    );
    sample(
        &mut out,
        "node_cpu_usage_seconds_total",
        &[],
        seconds(snapshot.cpu_nanos),
        at,
    );
    family(
        &mut out,
        "node_memory_working_set_bytes",
        "gauge",
        "Current working set of the node in bytes",
    );
    sample(
        &mut out,
        "node_memory_working_set_bytes",
        &[],
        snapshot.memory_bytes,
        at,
    );
    out
}

fn seconds(nanos: u64) -> f64 {
    // Precise to the nanosecond up to 104 days of CPU time, then to a few nanoseconds.
    nanos as f64 / 1e9
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} [STABLE] {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(
    out: &mut String,
    name: &str,
    labels: &[(&str, &str)],
    value: impl std::fmt::Display,
    timestamp_millis: u64,
) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, text)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            escape(out, text);
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value} {timestamp_millis}");
}

/// Escapes a label value: backslash, double quote and newline.
fn escape(out: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(ch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_model::stats::{ContainerReport, PodReport};

    #[test]
    fn series_carry_the_kubelet_names_labels_and_sums() {
        let snapshot = Snapshot {
            timestamp_millis: 1_700_000_000_123,
            cpu_nanos: 3_500_000_000,
            memory_bytes: 196_608,
            pods: vec![PodReport {
                namespace: "default".into(),
                name: "web-1".into(),
                containers: vec![
                    ContainerReport {
                        name: "app".into(),
                        cpu_nanos: 1_250_000_000,
                        memory_bytes: 65_536,
                    },
                    ContainerReport {
                        name: "side".into(),
                        cpu_nanos: 250_000_000,
                        memory_bytes: 131_072,
                    },
                ],
                requests: None,
            }],
        };
        let text = render(&snapshot);
        for line in [
            "# TYPE container_cpu_usage_seconds_total counter",
            "container_cpu_usage_seconds_total{container=\"app\",namespace=\"default\",pod=\"web-1\"} 1.25 1700000000123",
            "container_memory_working_set_bytes{container=\"side\",namespace=\"default\",pod=\"web-1\"} 131072 1700000000123",
            "pod_cpu_usage_seconds_total{namespace=\"default\",pod=\"web-1\"} 1.5 1700000000123",
            "pod_memory_working_set_bytes{namespace=\"default\",pod=\"web-1\"} 196608 1700000000123",
            "node_cpu_usage_seconds_total 3.5 1700000000123",
            "# TYPE node_memory_working_set_bytes gauge",
            "node_memory_working_set_bytes 196608 1700000000123",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        escape(&mut out, "a\"b\\c\nd");
        assert_eq!(out, "a\\\"b\\\\c\\nd");
    }
}
