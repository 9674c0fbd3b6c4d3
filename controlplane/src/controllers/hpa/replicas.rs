//! The replica count one metric asks for, as Kubernetes' `replica_calculator.go` computes
//! it: pure, over the pods a target selects and their samples, with time explicit.
//!
//! - [`Calculator::resource_replicas`]: a `Utilization` target of a resource (usage as a
//!   share of the pods' requests);
//! - [`Calculator::plain_replicas`]: an average-value target (a resource's `AverageValue`,
//!   a `Pods` metric).
//!
//! Both take `ceil(ready pods × usage / target)` unless the ratio is within the tolerance.
//! Pods being deleted or failed are ignored; pending pods, and for CPU pods not yet ready
//! or still warming up ([`PodInfo`]), are unready: left out, or counted at 0 % when that
//! would make a scale-up smaller. Pods without a sample count at 100 % of the target on a
//! scale-down and 0 % on a scale-up; a result that would flip the direction keeps the
//! current count.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

/// What fails a calculation, with Kubernetes' messages.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalcError {
    /// The selector matches no pod.
    #[error("no pods returned by selector while calculating replica count")]
    NoPods,
    /// Every sample belonged to a pod that is ignored or unready.
    #[error("did not receive metrics for targeted pods (pods might be unready)")]
    NoReadyMetrics,
    /// The metrics and the requests concern disjoint pods.
    #[error("no metrics returned matched known pods")]
    NoMatchingRequests,
}

/// A pod's `Ready` condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readiness {
    /// Whether it is `True`.
    pub ready: bool,
    /// Its `lastTransitionTime`.
    pub since: SystemTime,
}

/// What the calculation needs of a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct PodInfo {
    /// The pod's name.
    pub name: String,
    /// `status.phase`.
    pub phase: String,
    /// Whether it has a `deletionTimestamp`.
    pub deleting: bool,
    /// Its `Ready` condition, if it has one.
    pub readiness: Option<Readiness>,
    /// `status.startTime`.
    pub start_time: Option<SystemTime>,
}

/// One pod's figure for a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// The value, in thousandths of its unit (millicores, milli-bytes, milli-requests).
    pub milli: i64,
    /// When the window it was measured over ended.
    pub timestamp: SystemTime,
    /// The window's length.
    pub window: Duration,
}

/// A `Utilization` proposal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourceProposal {
    /// Replicas asked for.
    pub replicas: i32,
    /// Current utilization, percent of requests.
    pub utilization: i32,
    /// Current average usage per pod, in thousandths.
    pub raw_average: i64,
}

/// An average-value proposal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlainProposal {
    /// Replicas asked for.
    pub replicas: i32,
    /// Current average per pod, in thousandths.
    pub average: i64,
}

/// The tunables of the calculation (the controller manager's flags).
#[derive(Debug, Clone, Copy)]
pub struct Calculator {
    /// Ratios within `1 ± tolerance` keep the current count.
    pub tolerance: f64,
    /// How long after a pod starts its CPU samples are only trusted when taken entirely
    /// while it was ready.
    pub cpu_initialization_period: Duration,
    /// How long after a pod starts a not-ready pod counts as never having been ready.
    pub initial_readiness_delay: Duration,
}

/// Pods sorted by how they count: Kubernetes' `groupPods`.
struct Groups {
    ready: usize,
    unready: BTreeSet<String>,
    missing: BTreeSet<String>,
    ignored: BTreeSet<String>,
}

impl Calculator {
    fn group(
        &self,
        pods: &[PodInfo],
        samples: &BTreeMap<String, Sample>,
        cpu: bool,
        now: SystemTime,
    ) -> Groups {
        let mut groups = Groups {
            ready: 0,
            unready: BTreeSet::new(),
            missing: BTreeSet::new(),
            ignored: BTreeSet::new(),
        };
        for pod in pods {
            if pod.deleting || pod.phase == "Failed" {
                groups.ignored.insert(pod.name.clone());
                continue;
            }
            if pod.phase == "Pending" {
                groups.unready.insert(pod.name.clone());
                continue;
            }
            let Some(sample) = samples.get(&pod.name) else {
                groups.missing.insert(pod.name.clone());
                continue;
            };
            if cpu {
                let unready = match (pod.readiness, pod.start_time) {
                    (Some(readiness), Some(start)) => {
                        if start + self.cpu_initialization_period > now {
                            // Still warming up: only a sample taken wholly while ready counts.
                            !readiness.ready || sample.timestamp < readiness.since + sample.window
                        } else {
                            // Never ready since it started: its sample is not representative.
                            !readiness.ready
                                && start + self.initial_readiness_delay > readiness.since
                        }
                    }
                    _ => true,
                };
                if unready {
                    groups.unready.insert(pod.name.clone());
                    continue;
                }
            }
            groups.ready += 1;
        }
        groups
    }

    /// The replicas a `Utilization` target of `target` percent asks for. `requests` holds
    /// each pod's request of the resource, in thousandths; `cpu` turns on the warm-up
    /// handling of CPU samples.
    #[allow(clippy::too_many_arguments)]
    pub fn resource_replicas(
        &self,
        current: i32,
        target: i32,
        cpu: bool,
        pods: &[PodInfo],
        samples: &BTreeMap<String, Sample>,
        requests: &BTreeMap<String, i64>,
        now: SystemTime,
    ) -> Result<ResourceProposal, CalcError> {
        if pods.is_empty() {
            return Err(CalcError::NoPods);
        }
        let groups = self.group(pods, samples, cpu, now);
        let mut values: BTreeMap<String, i64> = samples
            .iter()
            .filter(|(name, _)| !groups.ignored.contains(*name) && !groups.unready.contains(*name))
            .filter(|(name, _)| pods.iter().any(|p| &p.name == *name))
            .map(|(name, s)| (name.clone(), s.milli))
            .collect();
        if values.is_empty() {
            return Err(CalcError::NoReadyMetrics);
        }
        let (ratio, utilization, raw_average) = utilization_ratio(&values, requests, target)?;
        let proposal = |replicas| ResourceProposal {
            replicas,
            utilization,
            raw_average,
        };
        let scale_up_with_unready = !groups.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            if (1.0 - ratio).abs() <= self.tolerance {
                return Ok(proposal(current));
            }
            return Ok(proposal(ceil(ratio * groups.ready as f64)));
        }
        if !groups.missing.is_empty() {
            if ratio < 1.0 {
                // Missing pods count as using their request (or the target, if higher).
                let fallback = i64::from(target.max(100));
                for name in &groups.missing {
                    let request = requests.get(name).copied().unwrap_or(0);
                    values.insert(name.clone(), request * fallback / 100);
                }
            } else if ratio > 1.0 {
                for name in &groups.missing {
                    values.insert(name.clone(), 0);
                }
            }
        }
        if scale_up_with_unready {
            for name in &groups.unready {
                values.insert(name.clone(), 0);
            }
        }
        let (new_ratio, _, _) = utilization_ratio(&values, requests, target)?;
        if (1.0 - new_ratio).abs() <= self.tolerance
            || (ratio < 1.0 && new_ratio > 1.0)
            || (ratio > 1.0 && new_ratio < 1.0)
        {
            return Ok(proposal(current));
        }
        let replicas = ceil(new_ratio * values.len() as f64);
        if (new_ratio < 1.0 && replicas > current) || (new_ratio > 1.0 && replicas < current) {
            return Ok(proposal(current));
        }
        Ok(proposal(replicas))
    }

    /// The replicas an average-value target of `target` thousandths per pod asks for.
    /// `cpu` turns on the warm-up handling of CPU samples (an `AverageValue` CPU target).
    pub fn plain_replicas(
        &self,
        current: i32,
        target: i64,
        cpu: bool,
        pods: &[PodInfo],
        samples: &BTreeMap<String, Sample>,
        now: SystemTime,
    ) -> Result<PlainProposal, CalcError> {
        if pods.is_empty() {
            return Err(CalcError::NoPods);
        }
        let groups = self.group(pods, samples, cpu, now);
        let mut values: BTreeMap<String, i64> = samples
            .iter()
            .filter(|(name, _)| !groups.ignored.contains(*name) && !groups.unready.contains(*name))
            .filter(|(name, _)| pods.iter().any(|p| &p.name == *name))
            .map(|(name, s)| (name.clone(), s.milli))
            .collect();
        if values.is_empty() {
            return Err(CalcError::NoReadyMetrics);
        }
        let (ratio, average) = usage_ratio(&values, target);
        let proposal = |replicas| PlainProposal { replicas, average };
        let scale_up_with_unready = !groups.unready.is_empty() && ratio > 1.0;
        if !scale_up_with_unready && groups.missing.is_empty() {
            if (1.0 - ratio).abs() <= self.tolerance {
                return Ok(proposal(current));
            }
            return Ok(proposal(ceil(ratio * groups.ready as f64)));
        }
        if !groups.missing.is_empty() {
            let fill = if ratio < 1.0 { target } else { 0 };
            for name in &groups.missing {
                values.insert(name.clone(), fill);
            }
        }
        if scale_up_with_unready {
            for name in &groups.unready {
                values.insert(name.clone(), 0);
            }
        }
        let (new_ratio, _) = usage_ratio(&values, target);
        if (1.0 - new_ratio).abs() <= self.tolerance
            || (ratio < 1.0 && new_ratio > 1.0)
            || (ratio > 1.0 && new_ratio < 1.0)
        {
            return Ok(proposal(current));
        }
        Ok(proposal(ceil(new_ratio * values.len() as f64)))
    }
}

fn ceil(x: f64) -> i32 {
    // Replica counts are small; the cast saturates on absurd ratios.
    x.ceil() as i32
}

/// Kubernetes' `GetResourceUtilizationRatio`: (ratio to target, utilization percent,
/// average raw value).
fn utilization_ratio(
    values: &BTreeMap<String, i64>,
    requests: &BTreeMap<String, i64>,
    target: i32,
) -> Result<(f64, i32, i64), CalcError> {
    let mut total = 0i64;
    let mut requested = 0i64;
    let mut entries = 0i64;
    for (name, value) in values {
        let Some(request) = requests.get(name) else {
            continue;
        };
        total += value;
        requested += request;
        entries += 1;
    }
    if requested == 0 {
        return Err(CalcError::NoMatchingRequests);
    }
    let utilization = i32::try_from(total * 100 / requested).unwrap_or(i32::MAX);
    Ok((
        f64::from(utilization) / f64::from(target),
        utilization,
        total / entries,
    ))
}

/// Kubernetes' `GetMetricUsageRatio`: (ratio to target, average).
fn usage_ratio(values: &BTreeMap<String, i64>, target: i64) -> (f64, i64) {
    let total: i64 = values.values().sum();
    let average = total / values.len().max(1) as i64;
    (average as f64 / target as f64, average)
}

#[cfg(test)]
#[path = "replicas_tests.rs"]
mod tests;
