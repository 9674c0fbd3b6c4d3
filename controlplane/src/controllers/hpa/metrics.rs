//! One metric of an HPA turned into a replica proposal: the pods' figures read through
//! [`PodMetrics`] (the control plane's [`Collector`], or what a test feeds in), their
//! requests read from the pods, the [`Calculator`] applied, and the `MetricStatus` and
//! wording Kubernetes reports. Sources the cluster does not serve (`Object`, `External`,
//! pod metrics other than [`REQUESTS_PER_SECOND`] and [`REQUESTS_IN_FLIGHT`]) fail with
//! the reason Kubernetes gives when its metrics APIs do not have them.

use super::replicas::{CalcError, Calculator, PodInfo, Readiness, Sample};
use crate::metrics::Collector;
use crate::metrics::collector::RESOURCE_WINDOW;
use crate::metrics::usage::PodUsage;
use k8s_openapi::api::autoscaling::v2::{
    ContainerResourceMetricStatus, MetricIdentifier, MetricSpec, MetricStatus, MetricTarget,
    MetricValueStatus, PodsMetricStatus, ResourceMetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_model::quantity::Quantity as Parsed;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

/// Requests per second a pod was delivered (`custom.metrics.k8s.io` pod metric).
pub const REQUESTS_PER_SECOND: &str = "requests_per_second";
/// Requests a pod holds outstanding (`custom.metrics.k8s.io` pod metric).
pub const REQUESTS_IN_FLIGHT: &str = "requests_in_flight";

/// Where the HPA controller reads pods' live figures.
pub trait PodMetrics: Send + Sync + 'static {
    /// `namespace/name`'s use over the resource window; `None` when not (yet) known.
    fn pod(&self, namespace: &str, name: &str) -> Option<PodUsage>;
}

impl PodMetrics for Collector {
    fn pod(&self, namespace: &str, name: &str) -> Option<PodUsage> {
        Collector::pod(self, namespace, name, RESOURCE_WINDOW)
    }
}

/// A metric's proposal.
pub struct Proposal {
    /// Replicas it asks for.
    pub replicas: i32,
    /// How Kubernetes names it in a rescale reason (`cpu resource utilization (percentage
    /// of request)`).
    pub description: String,
    /// Its `currentMetrics` entry.
    pub status: MetricStatus,
}

/// Why a metric gave no proposal.
pub struct Failure {
    /// The `ScalingActive=False` reason and event reason (`FailedGetResourceMetric`).
    pub reason: &'static str,
    /// What failed, for the condition and the event.
    pub message: String,
    /// The same, prefixed as the overall error names the metric.
    pub detail: String,
}

/// What one evaluation of an HPA's metrics sees.
pub struct Input<'a> {
    /// The HPA's namespace.
    pub namespace: &'a str,
    /// The pods its target's selector matches.
    pub pods: &'a [Arc<Pod>],
    /// The target's `spec.replicas`.
    pub current: i32,
    /// Now.
    pub now: SystemTime,
    /// The calculation's tunables.
    pub calculator: Calculator,
    /// The figures.
    pub metrics: &'a dyn PodMetrics,
}

/// Milli-units as Kubernetes' `NewMilliQuantity(…, DecimalSI).String()` writes them.
pub fn milli_quantity(milli: i64) -> Quantity {
    if milli % 1000 != 0 {
        return Quantity(format!("{milli}m"));
    }
    let mut value = milli / 1000;
    let mut suffix = 0;
    const SUFFIXES: [&str; 7] = ["", "k", "M", "G", "T", "P", "E"];
    while value != 0 && value % 1000 == 0 && suffix < SUFFIXES.len() - 1 {
        value /= 1000;
        suffix += 1;
    }
    Quantity(format!("{value}{}", SUFFIXES[suffix]))
}

fn milli_of(quantity: &Quantity) -> Option<i64> {
    Parsed::parse(&quantity.0).ok().map(|q| q.milli_value())
}

fn time(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> SystemTime {
    let nanos = t.0.as_nanosecond();
    match u64::try_from(nanos) {
        Ok(n) => SystemTime::UNIX_EPOCH + std::time::Duration::from_nanos(n),
        Err(_) => SystemTime::UNIX_EPOCH,
    }
}

/// What the calculation needs of each pod.
pub fn pod_infos(pods: &[Arc<Pod>]) -> Vec<PodInfo> {
    pods.iter()
        .map(|pod| {
            let status = pod.status.as_ref();
            PodInfo {
                name: pod.metadata.name.clone().unwrap_or_default(),
                phase: status
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_else(|| "Pending".to_string()),
                deleting: pod.metadata.deletion_timestamp.is_some(),
                readiness: status
                    .and_then(|s| s.conditions.as_ref())
                    .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
                    .map(|c| Readiness {
                        ready: c.status == "True",
                        since: c
                            .last_transition_time
                            .as_ref()
                            .map_or(SystemTime::UNIX_EPOCH, time),
                    }),
                start_time: status.and_then(|s| s.start_time.as_ref()).map(time),
            }
        })
        .collect()
}

/// Each pod's request of `resource` (of `container` only, if given), in thousandths.
fn requests(
    pods: &[Arc<Pod>],
    resource: &str,
    container: Option<&str>,
) -> Result<BTreeMap<String, i64>, String> {
    let mut out = BTreeMap::new();
    for pod in pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let mut sum = 0;
        for c in pod.spec.iter().flat_map(|s| &s.containers) {
            if container.is_some_and(|want| want != c.name) {
                continue;
            }
            let request = c
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(resource))
                .and_then(milli_of);
            match request {
                Some(m) => sum += m,
                None => {
                    return Err(format!(
                        "missing request for {resource} in container {} of Pod {name}",
                        c.name
                    ));
                }
            }
        }
        out.insert(name, sum);
    }
    Ok(out)
}

/// Each pod's sample of a figure `read` takes from its usage.
fn samples(input: &Input<'_>, read: impl Fn(&PodUsage) -> Option<i64>) -> BTreeMap<String, Sample> {
    let mut out = BTreeMap::new();
    for pod in input.pods {
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        if let Some(usage) = input.metrics.pod(input.namespace, name)
            && let Some(milli) = read(&usage)
        {
            out.insert(
                name.to_string(),
                Sample {
                    milli,
                    timestamp: usage.timestamp,
                    window: usage.window,
                },
            );
        }
    }
    out
}

fn resource_milli(usage: &PodUsage, resource: &str, container: Option<&str>) -> Option<i64> {
    let mut total = 0i64;
    let mut found = false;
    for c in &usage.containers {
        if container.is_some_and(|want| want != c.name) {
            continue;
        }
        found = true;
        total += match resource {
            "cpu" => (c.cpu_cores * 1000.0).round() as i64,
            _ => i64::try_from(c.memory_bytes).unwrap_or(i64::MAX / 1000) * 1000,
        };
    }
    found.then_some(total)
}

/// Computes `spec`'s proposal.
pub fn evaluate(input: &Input<'_>, spec: &MetricSpec) -> Result<Proposal, Failure> {
    match spec.type_.as_str() {
        "Resource" => match &spec.resource {
            Some(source) => resource(input, &source.name, None, &source.target),
            None => Err(unserved(
                "FailedGetResourceMetric",
                "resource",
                "missing resource source",
            )),
        },
        "ContainerResource" => match &spec.container_resource {
            Some(source) => resource(input, &source.name, Some(&source.container), &source.target),
            None => Err(unserved(
                "FailedGetContainerResourceMetric",
                "container",
                "missing containerResource source",
            )),
        },
        "Pods" => match &spec.pods {
            Some(source) => pods_metric(input, &source.metric, &source.target),
            None => Err(unserved(
                "FailedGetPodsMetric",
                "pods",
                "missing pods source",
            )),
        },
        "Object" => {
            let source = spec.object.as_ref();
            let name = source.map(|s| s.metric.name.as_str()).unwrap_or_default();
            let described = source.map(|s| &s.described_object);
            let message = format!(
                "unable to get metric {name}: {} on {} {}/unable to fetch metrics from custom \
                 metrics API: the server could not find the metric {name} for {}",
                described.map(|d| d.kind.as_str()).unwrap_or_default(),
                input.namespace,
                described.map(|d| d.name.as_str()).unwrap_or_default(),
                described.map(|d| d.kind.to_lowercase()).unwrap_or_default(),
            );
            Err(Failure {
                reason: "FailedGetObjectMetric",
                detail: format!("failed to get object metric value: {message}"),
                message,
            })
        }
        "External" => {
            let name = spec
                .external
                .as_ref()
                .map(|s| s.metric.name.as_str())
                .unwrap_or_default();
            let message = format!(
                "unable to get external metric {}/{name}/nil: unable to fetch metrics from \
                 external metrics API: the server could not find the requested resource",
                input.namespace
            );
            Err(Failure {
                reason: "FailedGetExternalMetric",
                detail: format!("failed to get external metric value: {message}"),
                message,
            })
        }
        other => {
            let message = format!("unknown metric source type {other:?}");
            Err(Failure {
                reason: "InvalidMetricSourceType",
                detail: message.clone(),
                message,
            })
        }
    }
}

fn unserved(reason: &'static str, what: &str, message: &str) -> Failure {
    Failure {
        reason,
        detail: format!("failed to get {what} metric value: {message}"),
        message: message.to_string(),
    }
}

fn resource(
    input: &Input<'_>,
    name: &str,
    container: Option<&str>,
    target: &MetricTarget,
) -> Result<Proposal, Failure> {
    let (reason, outer) = match container {
        None => ("FailedGetResourceMetric", format!("{name} resource")),
        Some(c) => ("FailedGetContainerResourceMetric", format!("{c} container")),
    };
    let fail = |inner: String| {
        let message = format!("failed to get {name} utilization: {inner}");
        Failure {
            reason,
            detail: format!("failed to get {outer} metric value: {message}"),
            message,
        }
    };
    let cpu = name == "cpu";
    let figures = samples(input, |u| resource_milli(u, name, container));
    if figures.is_empty() {
        return Err(fail(format!(
            "unable to get metrics for resource {name}: no metrics returned from resource metrics API"
        )));
    }
    let infos = pod_infos(input.pods);
    let calc = input.calculator;
    if let Some(average) = target.average_value.as_ref().and_then(milli_of) {
        let proposal = calc
            .plain_replicas(input.current, average, cpu, &infos, &figures, input.now)
            .map_err(|e| fail(e.to_string()))?;
        let current = MetricValueStatus {
            average_value: Some(milli_quantity(proposal.average)),
            ..Default::default()
        };
        return Ok(Proposal {
            replicas: proposal.replicas,
            description: format!("{name} resource"),
            status: resource_status(name, container, current),
        });
    }
    let Some(utilization) = target.average_utilization else {
        return Err(fail(
            "invalid resource metric source: neither an average utilization target nor an \
             average value target was set"
                .to_string(),
        ));
    };
    let requests = requests(input.pods, name, container).map_err(fail)?;
    let proposal = calc
        .resource_replicas(
            input.current,
            utilization,
            cpu,
            &infos,
            &figures,
            &requests,
            input.now,
        )
        .map_err(|e: CalcError| fail(e.to_string()))?;
    let current = MetricValueStatus {
        average_utilization: Some(proposal.utilization),
        average_value: Some(milli_quantity(proposal.raw_average)),
        ..Default::default()
    };
    let description = match container {
        None => format!("{name} resource utilization (percentage of request)"),
        Some(_) => format!("{name} container resource utilization (percentage of request)"),
    };
    Ok(Proposal {
        replicas: proposal.replicas,
        description,
        status: resource_status(name, container, current),
    })
}

fn resource_status(
    name: &str,
    container: Option<&str>,
    current: MetricValueStatus,
) -> MetricStatus {
    match container {
        None => MetricStatus {
            type_: "Resource".into(),
            resource: Some(ResourceMetricStatus {
                name: name.to_string(),
                current,
            }),
            ..Default::default()
        },
        Some(c) => MetricStatus {
            type_: "ContainerResource".into(),
            container_resource: Some(ContainerResourceMetricStatus {
                name: name.to_string(),
                container: c.to_string(),
                current,
            }),
            ..Default::default()
        },
    }
}

fn pods_metric(
    input: &Input<'_>,
    metric: &MetricIdentifier,
    target: &MetricTarget,
) -> Result<Proposal, Failure> {
    let name = metric.name.as_str();
    let fail = |inner: String| {
        let message = format!("unable to get metric {name}: {inner}");
        Failure {
            reason: "FailedGetPodsMetric",
            detail: format!("failed to get pods metric value: {message}"),
            message,
        }
    };
    let read: fn(&PodUsage) -> Option<i64> = match name {
        REQUESTS_PER_SECOND => |u| u.requests.map(|r| (r.per_second * 1000.0).round() as i64),
        REQUESTS_IN_FLIGHT => |u| u.requests.map(|r| i64::from(r.in_flight) * 1000),
        _ => {
            return Err(fail(format!(
                "unable to fetch metrics from custom metrics API: the server could not find \
                 the metric {name} for pods"
            )));
        }
    };
    let Some(average) = target.average_value.as_ref().and_then(milli_of) else {
        return Err(fail(
            "a Pods metric needs an averageValue target".to_string(),
        ));
    };
    let figures = samples(input, read);
    if figures.is_empty() {
        return Err(fail(format!(
            "unable to fetch metrics from custom metrics API: no metrics returned for {name}"
        )));
    }
    let infos = pod_infos(input.pods);
    let proposal = input
        .calculator
        .plain_replicas(input.current, average, false, &infos, &figures, input.now)
        .map_err(|e| fail(e.to_string()))?;
    Ok(Proposal {
        replicas: proposal.replicas,
        description: format!("pods metric {name}"),
        status: MetricStatus {
            type_: "Pods".into(),
            pods: Some(PodsMetricStatus {
                metric: metric.clone(),
                current: MetricValueStatus {
                    average_value: Some(milli_quantity(proposal.average)),
                    ..Default::default()
                },
            }),
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milli_quantities_are_written_as_kubernetes_writes_them() {
        assert_eq!(milli_quantity(150).0, "150m");
        assert_eq!(milli_quantity(2000).0, "2");
        assert_eq!(milli_quantity(2_000_000).0, "2k");
        assert_eq!(milli_quantity(0).0, "0");
        assert_eq!(milli_quantity(67_108_864_000).0, "67108864");
    }
}
