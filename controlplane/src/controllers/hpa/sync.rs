//! One evaluation of one HPA, as Kubernetes' `reconcileAutoscaler`: read the target's
//! scale, bound it to `minReplicas`/`maxReplicas` or compute what the metrics ask for,
//! normalize, rescale, and write status, conditions and events. Nothing here scales a
//! target whose scale, selector or metrics could not be read, whose pods another HPA also
//! selects, or that the request-driven autoscaler owns.

use super::behavior::{self, Behavior, PolicyKind, Rules, Select};
use super::conditions::{self, ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED};
use super::metrics::{self, Failure, Input, Proposal};
use super::replicas::Calculator;
use super::shared::{Error, Shared};
use super::target::{self, CLASS_ANNOTATION, KPA_CLASS, Target};
use crate::controllers::pods;
use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscaler, HorizontalPodAutoscalerStatus, MetricStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use skiff_model::events::Involved;
use skiff_model::selector::LabelSelector;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// What an evaluation decides, before it is written.
struct Evaluation<'a> {
    shared: &'a Shared,
    key: &'a str,
    involved: Involved,
    now: Time,
    status: HorizontalPodAutoscalerStatus,
}

impl Evaluation<'_> {
    fn condition(&mut self, kind: &str, ok: bool, reason: &str, message: impl Into<String>) {
        let list = self.status.conditions.get_or_insert_with(Vec::new);
        conditions::set(list, kind, ok, reason, message, &self.now);
    }

    fn warn(&self, reason: &'static str, message: impl Into<String>) {
        self.shared
            .events
            .warning(self.involved.clone(), reason, message);
    }

    fn normal(&self, reason: &'static str, message: impl Into<String>) {
        self.shared
            .events
            .normal(self.involved.clone(), reason, message);
    }

    /// Writes the status if it changed.
    async fn write(self, original: Option<&HorizontalPodAutoscalerStatus>) -> Result<(), Error> {
        if original == Some(&self.status) {
            return Ok(());
        }
        let (namespace, name) = split(self.key);
        let status = self.status.clone();
        let written = self
            .shared
            .client
            .update_status::<HorizontalPodAutoscaler>(Some(namespace), name, |hpa| {
                if hpa.status.as_ref() == Some(&status) {
                    return false;
                }
                hpa.status = Some(status.clone());
                true
            })
            .await;
        if let Err(e) = written {
            self.warn("FailedUpdateStatus", e.message.clone());
            return Err(Error::Api {
                action: "update status",
                hpa: self.key.to_string(),
                message: e.message,
            });
        }
        Ok(())
    }
}

fn split(key: &str) -> (&str, &str) {
    key.split_once('/').unwrap_or(("", key))
}

/// Evaluates `hpa` once.
pub(super) async fn sync(
    shared: &Shared,
    key: &str,
    hpa: &Arc<HorizontalPodAutoscaler>,
) -> Result<(), Error> {
    let original = hpa.status.as_ref();
    let spec = hpa.spec.clone().unwrap_or_default();
    let (namespace, _) = split(key);
    let mut eval = Evaluation {
        shared,
        key,
        involved: Involved::of::<HorizontalPodAutoscaler>(&hpa.metadata),
        now: Time(skiff_model::time::now_seconds()),
        status: original.cloned().unwrap_or_default(),
    };
    eval.status.observed_generation = hpa.metadata.generation;
    let reference = &spec.scale_target_ref;

    let target = match target::resolve(reference) {
        Ok(kind) => target::read(&shared.client, kind, namespace, &reference.name).await,
        Err(message) => Err(message),
    };
    let target = match target {
        Ok(target) => target,
        Err(message) => {
            eval.warn("FailedGetScale", message.clone());
            eval.condition(
                ABLE_TO_SCALE,
                false,
                "FailedGetScale",
                format!(
                    "the HPA controller was unable to get the target's current scale: {message}"
                ),
            );
            return eval.write(original).await;
        }
    };
    eval.condition(
        ABLE_TO_SCALE,
        true,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
    );
    let current = target.spec_replicas;
    eval.status.current_replicas = Some(current);

    if target.request_driven {
        let message = format!(
            "{} {} is scaled by the request-driven autoscaler (annotation {CLASS_ANNOTATION}: \
             {KPA_CLASS}); this HPA does not act on it",
            reference.kind, reference.name
        );
        eval.warn("AmbiguousSelector", message.clone());
        eval.condition(SCALING_ACTIVE, false, "AmbiguousSelector", message);
        return eval.write(original).await;
    }

    shared
        .histories()
        .entry(key.to_string())
        .or_default()
        .record_initial(current, Instant::now());
    let min = spec.min_replicas.unwrap_or(1);
    let max = spec.max_replicas;

    let (desired, reason) = if target.spec_replicas == 0 && min != 0 {
        eval.condition(
            SCALING_ACTIVE,
            false,
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
        );
        eval.status.current_metrics = None;
        (current, None)
    } else if current > max {
        eval.status.current_metrics = None;
        (
            max,
            Some("Current number of replicas above Spec.MaxReplicas".to_string()),
        )
    } else if current < min {
        eval.status.current_metrics = None;
        (
            min,
            Some("Current number of replicas below Spec.MinReplicas".to_string()),
        )
    } else {
        match from_metrics(&mut eval, key, &spec, &target, current, min, max) {
            Some(decision) => decision,
            None => return eval.write(original).await,
        }
    };

    let mut rescaled = false;
    if let Some(reason) = reason.filter(|_| desired != current) {
        let (namespace, _) = split(key);
        match shared
            .client
            .scale(
                target.kind,
                Some(namespace),
                &reference.name,
                u32::try_from(desired).unwrap_or(0),
            )
            .await
        {
            Ok(_) => {
                eval.condition(
                    ABLE_TO_SCALE,
                    true,
                    "SucceededRescale",
                    format!("the HPA controller was able to update the target scale to {desired}"),
                );
                eval.normal(
                    "SuccessfulRescale",
                    format!("New size: {desired}; reason: {reason}"),
                );
                if let Some(behavior) =
                    resolved_behavior(&spec, shared.settings.downscale_stabilization)
                {
                    shared
                        .histories()
                        .entry(key.to_string())
                        .or_default()
                        .record_scale(&behavior, current, desired, Instant::now());
                }
                rescaled = true;
            }
            Err(e) => {
                eval.warn(
                    "FailedRescale",
                    format!(
                        "New size: {desired}; reason: {reason}; error: {}",
                        e.message
                    ),
                );
                eval.condition(
                    ABLE_TO_SCALE,
                    false,
                    "FailedUpdateScale",
                    format!(
                        "the HPA controller was unable to update the target scale: {}",
                        e.message
                    ),
                );
                eval.write(original).await?;
                return Err(Error::Api {
                    action: "rescale",
                    hpa: key.to_string(),
                    message: e.message,
                });
            }
        }
    }
    eval.status.desired_replicas = if rescaled { desired } else { current };
    if rescaled {
        eval.status.last_scale_time = Some(eval.now.clone());
    }
    eval.write(original).await
}

/// The pods `selector` matches in `namespace`.
fn selected(shared: &Shared, namespace: &str, selector: &LabelSelector) -> Vec<Arc<Pod>> {
    shared
        .pods
        .list_namespace(namespace)
        .into_iter()
        .filter(|p| selector.matches(pods::labels(&p.metadata)))
        .collect()
}

/// The other HPAs whose last selector matches one of `pods`, this one included first;
/// records this HPA's selector.
fn claimants(
    shared: &Shared,
    key: &str,
    selector: &LabelSelector,
    pods: &[Arc<Pod>],
) -> Vec<String> {
    let (namespace, _) = split(key);
    let mut selectors = shared.selectors();
    selectors.insert(key.to_string(), selector.clone());
    let mut out = vec![key.to_string()];
    for (other, their) in selectors.iter() {
        if other == key || split(other).0 != namespace {
            continue;
        }
        if pods
            .iter()
            .any(|p| their.matches(pods::labels(&p.metadata)))
        {
            out.push(other.clone());
        }
    }
    out
}

/// Computes the metrics' proposal and normalizes it: `(desired, rescale reason)`, or
/// `None` when nothing may be decided (the conditions and events say why).
fn from_metrics(
    eval: &mut Evaluation<'_>,
    key: &str,
    spec: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec,
    target: &Target,
    current: i32,
    min: i32,
    max: i32,
) -> Option<(i32, Option<String>)> {
    let shared = eval.shared;
    let (namespace, _) = split(key);
    if target.selector.is_empty() {
        eval.warn("SelectorRequired", "selector is required");
        eval.condition(
            SCALING_ACTIVE,
            false,
            "InvalidSelector",
            "the HPA target's scale is missing a selector",
        );
        return None;
    }
    let selector = match LabelSelector::parse(&target.selector) {
        Ok(selector) => selector,
        Err(e) => {
            let message = format!(
                "couldn't convert selector into a corresponding internal selector object: {e}"
            );
            eval.warn("InvalidSelector", message.clone());
            eval.condition(SCALING_ACTIVE, false, "InvalidSelector", message);
            return None;
        }
    };
    let pods = selected(shared, namespace, &selector);
    let mut claiming = claimants(shared, key, &selector, &pods);
    if claiming.len() > 1 {
        claiming.sort();
        let message = format!(
            "pods by selector {} are controlled by multiple HPAs: [{}]",
            target.selector,
            claiming.join(" ")
        );
        eval.warn("AmbiguousSelector", message.clone());
        eval.condition(SCALING_ACTIVE, false, "AmbiguousSelector", message.clone());
        eval.warn("FailedComputeMetricsReplicas", message);
        return None;
    }

    let settings = shared.settings;
    let input = Input {
        namespace,
        pods: &pods,
        current,
        now: SystemTime::now(),
        calculator: Calculator {
            tolerance: settings.tolerance,
            cpu_initialization_period: settings.cpu_initialization_period,
            initial_readiness_delay: settings.initial_readiness_delay,
        },
        metrics: shared.metrics.as_ref(),
    };
    let specs = spec.metrics.clone().unwrap_or_default();
    let mut statuses = Vec::with_capacity(specs.len());
    let mut best: Option<Proposal> = None;
    let mut failures: Vec<Failure> = Vec::new();
    for metric in &specs {
        match metrics::evaluate(&input, metric) {
            Ok(proposal) => {
                statuses.push(proposal.status.clone());
                if best.as_ref().is_none_or(|b| proposal.replicas > b.replicas) {
                    best = Some(proposal);
                }
            }
            Err(failure) => {
                statuses.push(MetricStatus::default());
                eval.warn(failure.reason, failure.message.clone());
                failures.push(failure);
            }
        }
    }
    eval.status.current_metrics = (!statuses.is_empty()).then_some(statuses);
    let proposed = best.as_ref().map_or(0, |b| b.replicas);
    if let Some(first) = failures.first()
        && (failures.len() >= specs.len() || proposed < current)
    {
        eval.condition(
            SCALING_ACTIVE,
            false,
            first.reason,
            format!(
                "the HPA was unable to compute the replica count: {}",
                first.message
            ),
        );
        eval.warn(
            "FailedComputeMetricsReplicas",
            format!(
                "invalid metrics ({} invalid out of {}), first error is: {}",
                failures.len(),
                specs.len(),
                first.detail
            ),
        );
        return None;
    }
    let best = best?;
    eval.condition(
        SCALING_ACTIVE,
        true,
        "ValidMetricFound",
        format!(
            "the HPA was able to successfully calculate a replica count from {}",
            best.description
        ),
    );
    let reason = if proposed > current {
        format!("{} above target", best.description)
    } else {
        "All metrics below target".to_string()
    };

    let now = Instant::now();
    let mut histories = shared.histories();
    let history = histories.entry(key.to_string()).or_default();
    let limited = match resolved_behavior(spec, settings.downscale_stabilization) {
        Some(behavior) => {
            behavior::normalize_with_behavior(history, &behavior, current, proposed, min, max, now)
        }
        None => behavior::normalize(
            history,
            settings.downscale_stabilization,
            current,
            proposed,
            min,
            max,
            now,
        ),
    };
    drop(histories);
    eval.condition(ABLE_TO_SCALE, true, limited.able.0, limited.able.1);
    let (bounded, why, message) = limited.limited;
    eval.condition(SCALING_LIMITED, bounded, why, message);
    Some((limited.replicas, Some(reason)))
}

/// The HPA's `behavior` with every default filled in, or `None` without one.
fn resolved_behavior(
    spec: &k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerSpec,
    downscale_stabilization: Duration,
) -> Option<Behavior> {
    let behavior = spec.behavior.as_ref()?;
    Some(Behavior {
        scale_up: rules(behavior.scale_up.as_ref(), Rules::default_scale_up()),
        scale_down: rules(
            behavior.scale_down.as_ref(),
            Rules::default_scale_down(downscale_stabilization),
        ),
    })
}

fn rules(spec: Option<&HPAScalingRules>, default: Rules) -> Rules {
    let Some(spec) = spec else {
        return default;
    };
    let policies: Vec<behavior::Policy> = spec
        .policies
        .iter()
        .flatten()
        .filter_map(|p| {
            let kind = match p.type_.as_str() {
                "Pods" => PolicyKind::Pods,
                "Percent" => PolicyKind::Percent,
                _ => return None,
            };
            Some(behavior::Policy {
                kind,
                value: p.value,
                period: Duration::from_secs(u64::try_from(p.period_seconds).unwrap_or(0)),
            })
        })
        .collect();
    Rules {
        stabilization_window: spec
            .stabilization_window_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(default.stabilization_window, Duration::from_secs),
        select: match spec.select_policy.as_deref() {
            Some("Min") => Select::Min,
            Some("Disabled") => Select::Disabled,
            _ => Select::Max,
        },
        policies: if policies.is_empty() {
            default.policies
        } else {
            policies
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::{
        HPAScalingPolicy, HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec,
    };

    #[test]
    fn behavior_defaults_fill_what_the_spec_leaves_out() {
        let mut spec = HorizontalPodAutoscalerSpec::default();
        assert_eq!(resolved_behavior(&spec, Duration::from_secs(300)), None);
        spec.behavior = Some(HorizontalPodAutoscalerBehavior {
            scale_down: Some(HPAScalingRules {
                stabilization_window_seconds: Some(5),
                select_policy: Some("Min".into()),
                policies: Some(vec![HPAScalingPolicy {
                    type_: "Pods".into(),
                    value: 2,
                    period_seconds: 30,
                }]),
                ..Default::default()
            }),
            scale_up: None,
        });
        let got = resolved_behavior(&spec, Duration::from_secs(300)).expect("behavior");
        assert_eq!(got.scale_up, Rules::default_scale_up());
        assert_eq!(got.scale_down.stabilization_window, Duration::from_secs(5));
        assert_eq!(got.scale_down.select, Select::Min);
        assert_eq!(got.scale_down.policies.len(), 1);
        // Without its own window, scale-down uses the flag's.
        spec.behavior.as_mut().expect("behavior").scale_down = Some(HPAScalingRules::default());
        let got = resolved_behavior(&spec, Duration::from_secs(42)).expect("behavior");
        assert_eq!(
            got.scale_down,
            Rules::default_scale_down(Duration::from_secs(42))
        );
    }
}
