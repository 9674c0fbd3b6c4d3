//! The `autoscaling.knative.dev/*` annotations a Deployment opts in to request-driven
//! autoscaling with, read from the Deployment and its pod template (the Deployment's
//! win), with Knative's names, meanings, ranges and error wording
//! (`pkg/apis/autoscaling/annotation_validation.go`).
//!
//! Parts: [`Annotations`] (the two maps, merged), [`validate`] (every problem, as
//! admission reports them), [`settings`] (the values the scaler uses, the cluster's
//! [`Config`] filling what is not annotated), [`Problem`] and [`Settings`].

use super::config::Config;
use skiff_model::goduration;
use std::collections::BTreeMap;
use std::time::Duration;

/// `autoscaling.knative.dev/class`: which autoscaler scales the workload.
pub const CLASS: &str = "autoscaling.knative.dev/class";
/// The class that opts a Deployment in.
pub const KPA: &str = "kpa.autoscaling.knative.dev";
/// Knative's other class (its HPA-backed autoscaler); not acted on here.
pub const HPA: &str = "hpa.autoscaling.knative.dev";
/// `concurrency` (the default) or `rps`.
pub const METRIC: &str = "autoscaling.knative.dev/metric";
/// The per-pod target of the metric.
pub const TARGET: &str = "autoscaling.knative.dev/target";
/// The percentage of the target aimed at.
pub const TARGET_UTILIZATION: &str = "autoscaling.knative.dev/target-utilization-percentage";
/// The lower bound (0 allowed).
pub const MIN_SCALE: &str = "autoscaling.knative.dev/min-scale";
/// The upper bound (0 = unbounded).
pub const MAX_SCALE: &str = "autoscaling.knative.dev/max-scale";
/// Replicas when first opted in.
pub const INITIAL_SCALE: &str = "autoscaling.knative.dev/initial-scale";
/// The stable window (6 s to 1 h).
pub const WINDOW: &str = "autoscaling.knative.dev/window";
/// The panic window as a percentage of the stable window (1 to 100).
pub const PANIC_WINDOW_PERCENTAGE: &str = "autoscaling.knative.dev/panic-window-percentage";
/// The panic threshold as a percentage of capacity (110 to 1000).
pub const PANIC_THRESHOLD_PERCENTAGE: &str = "autoscaling.knative.dev/panic-threshold-percentage";
/// The last replica's minimum life once idle.
pub const RETENTION: &str = "autoscaling.knative.dev/scale-to-zero-pod-retention-period";
/// How long a lower recommendation must hold before it is acted on.
pub const SCALE_DOWN_DELAY: &str = "autoscaling.knative.dev/scale-down-delay";
/// Replicas when scaled up from zero (at least 2 when set).
pub const ACTIVATION_SCALE: &str = "autoscaling.knative.dev/activation-scale";

const WINDOW_MIN: Duration = Duration::from_secs(6);
const WINDOW_MAX: Duration = Duration::from_secs(3600);
const TARGET_MIN: f64 = 0.01;

/// Where the annotations of a Deployment live.
const DEPLOYMENT_PATH: &str = "metadata.annotations";
const TEMPLATE_PATH: &str = "spec.template.metadata.annotations";

/// The annotations of a Deployment and of its pod template.
#[derive(Debug, Clone, Copy, Default)]
pub struct Annotations<'a> {
    deployment: Option<&'a BTreeMap<String, String>>,
    template: Option<&'a BTreeMap<String, String>>,
}

/// One thing wrong with the annotations: a field path (the annotation, where it was
/// found) and Knative's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `metadata.annotations.autoscaling.knative.dev/min-scale`, or under
    /// `spec.template.metadata.annotations`.
    pub field: String,
    /// Knative's wording, e.g. `expected 0 <= -1 <= 2147483647`.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.message, self.field)
    }
}

/// The scaled metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Requests in flight per pod.
    Concurrency,
    /// Requests per second per pod.
    Rps,
}

/// What the scaler of one Deployment works with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The scaled metric.
    pub metric: Metric,
    /// The metric's value per pod aimed at: target × utilization, at least 0.01.
    pub target: f64,
    /// The stable window.
    pub stable_window: Duration,
    /// The panic window.
    pub panic_window: Duration,
    /// Panic starts when the panic-window demand reaches this many times the ready pods.
    pub panic_threshold: f64,
    /// At most the ready pods times this per tick.
    pub max_scale_up_rate: f64,
    /// At least the ready pods divided by this per tick.
    pub max_scale_down_rate: f64,
    /// The lower bound.
    pub min_scale: u32,
    /// The upper bound (0 = unbounded).
    pub max_scale: u32,
    /// Replicas when first opted in.
    pub initial_scale: u32,
    /// Replicas at least, when scaling up from zero.
    pub activation_scale: u32,
    /// Whether zero replicas are allowed at all.
    pub enable_scale_to_zero: bool,
    /// How long without traffic the last replica stays.
    pub grace_period: Duration,
    /// The last replica's minimum life once idle.
    pub retention: Duration,
    /// How long a lower recommendation must hold.
    pub scale_down_delay: Duration,
}

impl<'a> Annotations<'a> {
    /// The annotations of a Deployment (`deployment`) and its pod template (`template`).
    pub fn new(
        deployment: Option<&'a BTreeMap<String, String>>,
        template: Option<&'a BTreeMap<String, String>>,
    ) -> Self {
        Self {
            deployment,
            template,
        }
    }

    /// The value of `key` and the field path it was found at, the Deployment's first.
    fn get(&self, key: &str) -> Option<(String, &'a str)> {
        for (path, map) in [
            (DEPLOYMENT_PATH, self.deployment),
            (TEMPLATE_PATH, self.template),
        ] {
            if let Some(value) = map.and_then(|m| m.get(key)) {
                return Some((format!("{path}.{key}"), value.as_str()));
            }
        }
        None
    }

    /// Whether the class annotation opts the Deployment in.
    pub fn opted_in(&self) -> bool {
        self.get(CLASS).is_some_and(|(_, v)| v == KPA)
    }
}

fn invalid(field: &str, value: &str) -> Problem {
    Problem {
        field: field.into(),
        message: format!("invalid value: {value}"),
    }
}

fn out_of_bounds(field: &str, value: &str, low: impl ToString, high: impl ToString) -> Problem {
    Problem {
        field: field.into(),
        message: format!(
            "expected {} <= {value} <= {}",
            low.to_string(),
            high.to_string()
        ),
    }
}

fn generic(field: &str, message: String) -> Problem {
    Problem {
        field: field.into(),
        message,
    }
}

/// What was read, before the cluster's defaults fill the gaps.
#[derive(Default)]
struct Read {
    metric: Option<Metric>,
    target: Option<f64>,
    utilization: Option<f64>,
    min_scale: Option<u32>,
    max_scale: Option<u32>,
    initial_scale: Option<(String, u32)>,
    activation_scale: Option<u32>,
    window: Option<Duration>,
    panic_window_percentage: Option<f64>,
    panic_threshold_percentage: Option<f64>,
    retention: Option<Duration>,
    scale_down_delay: Option<Duration>,
}

/// Knative's `getIntGE0`: a 32-bit integer, at least 0.
fn int_ge0(a: &Annotations<'_>, key: &str, problems: &mut Vec<Problem>) -> Option<u32> {
    let (field, value) = a.get(key)?;
    match value.parse::<i64>() {
        Ok(i) if (0..=i64::from(i32::MAX)).contains(&i) => Some(i as u32),
        Ok(_) => {
            problems.push(out_of_bounds(&field, value, 0, i32::MAX));
            None
        }
        Err(_)
            if value
                .trim_start_matches(['-', '+'])
                .bytes()
                .all(|b| b.is_ascii_digit())
                && !value.trim_start_matches(['-', '+']).is_empty() =>
        {
            problems.push(out_of_bounds(&field, value, 0, i32::MAX));
            None
        }
        Err(_) => {
            problems.push(invalid(&field, value));
            None
        }
    }
}

/// A float in `[low, high]`, reported as Knative does.
fn float_in(
    a: &Annotations<'_>,
    key: &str,
    low: f64,
    high: f64,
    problems: &mut Vec<Problem>,
) -> Option<f64> {
    let (field, value) = a.get(key)?;
    match value.parse::<f64>() {
        Err(_) => problems.push(invalid(&field, value)),
        Ok(f) if !f.is_finite() => problems.push(invalid(&field, value)),
        Ok(f) if f < low || f > high => problems.push(out_of_bounds(&field, value, low, high)),
        Ok(f) => return Some(f),
    }
    None
}

/// A duration in `[low, high]` with at most second precision when `whole` says so.
fn duration_in(
    a: &Annotations<'_>,
    key: &str,
    low: Duration,
    whole: bool,
    problems: &mut Vec<Problem>,
) -> Option<Duration> {
    let (field, value) = a.get(key)?;
    let Some(parsed) = goduration::parse(value) else {
        problems.push(invalid(&field, value));
        return None;
    };
    let d = parsed.magnitude;
    if parsed.negative && !d.is_zero() || d < low || d > WINDOW_MAX {
        problems.push(out_of_bounds(
            &field,
            value,
            goduration::format(low),
            goduration::format(WINDOW_MAX),
        ));
        return None;
    }
    if whole && d.subsec_nanos() != 0 {
        problems.push(generic(
            &field,
            "must be specified with at most second precision".into(),
        ));
        return None;
    }
    Some(d)
}

/// Reads every annotation, collecting what is wrong with each alone and together.
fn read(a: &Annotations<'_>) -> (Read, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut read = Read::default();
    if let Some((field, class)) = a.get(CLASS)
        && class.ends_with(".knative.dev")
        && class != KPA
        && class != HPA
    {
        problems.push(invalid(&field, class));
    }
    read.min_scale = int_ge0(a, MIN_SCALE, &mut problems);
    read.max_scale = int_ge0(a, MAX_SCALE, &mut problems);
    let (min, max) = (read.min_scale.unwrap_or(0), read.max_scale.unwrap_or(0));
    if max != 0 && max < min {
        let field = a.get(MAX_SCALE).map(|(f, _)| f).unwrap_or_default();
        let min_field = a.get(MIN_SCALE).map(|(f, _)| f).unwrap_or_default();
        problems.push(generic(
            &format!("{field}, {min_field}"),
            format!("max-scale={max} is less than min-scale={min}"),
        ));
    }
    if let Some((field, value)) = a.get(ACTIVATION_SCALE) {
        match value.parse::<i32>() {
            Err(_) => problems.push(invalid(&field, value)),
            Ok(n) if i64::from(min) > i64::from(n) => problems.push(generic(
                &field,
                format!("min-scale={min} is greater than activation-scale={n}"),
            )),
            Ok(n) if max != 0 && i64::from(max) < i64::from(n) => problems.push(generic(
                &field,
                format!("max-scale={max} is less than activation-scale={n}"),
            )),
            Ok(n) if n < 2 => problems.push(generic(
                &field,
                format!("activation-scale={n} must be greater than 1"),
            )),
            Ok(n) => read.activation_scale = Some(n as u32),
        }
    }
    read.panic_window_percentage = float_in(a, PANIC_WINDOW_PERCENTAGE, 1.0, 100.0, &mut problems);
    read.panic_threshold_percentage =
        float_in(a, PANIC_THRESHOLD_PERCENTAGE, 110.0, 1000.0, &mut problems);
    if let Some((field, value)) = a.get(TARGET) {
        match value.parse::<f64>() {
            Ok(f) if f.is_finite() && f >= TARGET_MIN => read.target = Some(f),
            Ok(f) if f.is_finite() => problems.push(generic(
                &field,
                format!("target {value} should be at least {TARGET_MIN}"),
            )),
            _ => problems.push(invalid(&field, value)),
        }
    }
    read.utilization = float_in(a, TARGET_UTILIZATION, 1.0, 100.0, &mut problems);
    read.window = duration_in(a, WINDOW, WINDOW_MIN, true, &mut problems);
    read.retention = duration_in(a, RETENTION, Duration::ZERO, false, &mut problems);
    read.scale_down_delay = duration_in(a, SCALE_DOWN_DELAY, Duration::ZERO, true, &mut problems);
    if let Some((field, value)) = a.get(METRIC) {
        match value {
            "concurrency" => read.metric = Some(Metric::Concurrency),
            "rps" => read.metric = Some(Metric::Rps),
            _ if a.opted_in() => problems.push(invalid(&field, value)),
            _ => {}
        }
    }
    if let Some((field, value)) = a.get(INITIAL_SCALE) {
        match value.parse::<i64>() {
            Err(_) => problems.push(invalid(&field, value)),
            Ok(n) if n < 0 => {
                problems.push(invalid(&format!("{field} must be greater than 0"), value))
            }
            Ok(n) => read.initial_scale = Some((field, n.min(i64::from(i32::MAX)) as u32)),
        }
    }
    (read, problems)
}

/// Every problem with the annotations of an opted-in Deployment, as admission reports
/// them; nothing for one that is not opted in (other autoscalers have their own rules).
pub fn validate(a: &Annotations<'_>) -> Vec<Problem> {
    if a.get(CLASS).is_none() {
        return Vec::new();
    }
    let (_, problems) = read(a);
    problems
}

/// The scaler's settings for an opted-in Deployment: its annotations over `config`; the
/// problems if any annotation is wrong (then nothing is scaled).
pub fn settings(a: &Annotations<'_>, config: &Config) -> Result<Settings, Vec<Problem>> {
    let (read, mut problems) = read(a);
    let initial_scale = match read.initial_scale {
        Some((field, 0)) if !config.allow_zero_initial_scale => {
            problems.push(invalid(&format!("{field}=0 not allowed by cluster"), "0"));
            0
        }
        Some((_, n)) => n,
        None => config.initial_scale,
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let (total, default_utilization) = match read.metric.unwrap_or(Metric::Concurrency) {
        Metric::Concurrency => (
            config.container_concurrency_target_default,
            config.container_concurrency_target_percentage,
        ),
        Metric::Rps => (
            config.requests_per_second_target_default,
            config.container_concurrency_target_percentage,
        ),
    };
    let total = read.target.unwrap_or(total);
    let utilization = read.utilization.unwrap_or(default_utilization) / 100.0;
    let stable_window = read.window.unwrap_or(config.stable_window);
    let panic_percentage = read
        .panic_window_percentage
        .unwrap_or(config.panic_window_percentage);
    Ok(Settings {
        metric: read.metric.unwrap_or(Metric::Concurrency),
        target: (total * utilization).max(TARGET_MIN),
        stable_window,
        panic_window: stable_window.mul_f64(panic_percentage / 100.0),
        panic_threshold: read
            .panic_threshold_percentage
            .unwrap_or(config.panic_threshold_percentage)
            / 100.0,
        max_scale_up_rate: config.max_scale_up_rate,
        max_scale_down_rate: config.max_scale_down_rate,
        min_scale: read.min_scale.unwrap_or(config.min_scale),
        max_scale: read.max_scale.unwrap_or(config.max_scale),
        initial_scale,
        activation_scale: read.activation_scale.unwrap_or(1),
        enable_scale_to_zero: config.enable_scale_to_zero,
        grace_period: config.scale_to_zero_grace_period,
        retention: read
            .retention
            .unwrap_or(config.scale_to_zero_pod_retention_period),
        scale_down_delay: read.scale_down_delay.unwrap_or(config.scale_down_delay),
    })
}

#[cfg(test)]
#[path = "annotations/tests.rs"]
mod tests;
