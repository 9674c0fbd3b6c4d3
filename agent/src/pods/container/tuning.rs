//! [`Tuning`]: how a pod's HTTP containers serve, from the pod's annotations:
//!
//! - `skiff.dev/max-concurrency` — requests run at once per container (default
//!   [`DEFAULT_MAX_CONCURRENCY`]);
//! - `skiff.dev/max-queue` — requests waiting for a slot before new ones get 503 (default
//!   [`DEFAULT_MAX_QUEUE`]);
//! - `skiff.dev/request-timeout` — a Go-style duration (`500ms`, `1m30s`) after which a
//!   request gets 504 (default [`DEFAULT_REQUEST_TIMEOUT`]).
//!
//! A value that does not parse is the pod's error (`CreateContainerConfigError`), never
//! silently replaced by the default.

use k8s_openapi::api::core::v1::Pod;
use skiff_model::goduration;
use std::time::Duration;

/// Annotation setting the requests an HTTP container runs at once.
pub const MAX_CONCURRENCY_ANNOTATION: &str = "skiff.dev/max-concurrency";

/// Annotation setting the requests that may wait for a slot.
pub const MAX_QUEUE_ANNOTATION: &str = "skiff.dev/max-queue";

/// Annotation setting the request timeout.
pub const REQUEST_TIMEOUT_ANNOTATION: &str = "skiff.dev/request-timeout";

/// Requests one pod's container runs at once by default: Knative's default container
/// concurrency target. A pod is a unit of capacity; scaling the Deployment adds more,
/// and 100 keeps one busy pod from taking the node's whole instance pool.
pub const DEFAULT_MAX_CONCURRENCY: usize = 100;

/// Requests that wait for a slot by default: as many as run, so a burst twice the
/// concurrency is absorbed, and a pod that is overwhelmed says 503 quickly instead of
/// piling up latency.
pub const DEFAULT_MAX_QUEUE: usize = 100;

/// Request timeout by default: 60 s, the idle timeout of common load balancers (AWS ALB,
/// nginx's `proxy_read_timeout`), so a request Skiff gives up on would have been cut by
/// the proxy in front anyway.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// How a pod's HTTP containers serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Requests run at once.
    pub max_concurrency: usize,
    /// Requests waiting for a slot.
    pub max_queue: usize,
    /// Request timeout (504 after it).
    pub request_timeout: Duration,
}

/// Why a tuning annotation cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("annotation {annotation}: {value:?} {reason}")]
pub struct TuningError {
    /// The annotation.
    pub annotation: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Tuning {
    /// The tuning of `pod`'s HTTP containers.
    pub fn of(pod: &Pod) -> Result<Self, TuningError> {
        let annotations = pod.metadata.annotations.as_ref();
        let get = |name: &'static str| annotations.and_then(|a| a.get(name)).map(|v| v.trim());
        let count = |name: &'static str, min: usize, default: usize| match get(name) {
            None => Ok(default),
            Some(value) => match value.parse::<usize>() {
                Ok(n) if n >= min => Ok(n),
                _ => Err(TuningError {
                    annotation: name,
                    value: value.to_string(),
                    reason: if min == 0 {
                        "is not a whole number of requests (0 or more)"
                    } else {
                        "is not a whole number of requests (1 or more)"
                    },
                }),
            },
        };
        let request_timeout = match get(REQUEST_TIMEOUT_ANNOTATION) {
            None => DEFAULT_REQUEST_TIMEOUT,
            Some(value) => match parse_duration(value) {
                Some(d) if !d.is_zero() => d,
                _ => {
                    return Err(TuningError {
                        annotation: REQUEST_TIMEOUT_ANNOTATION,
                        value: value.to_string(),
                        reason: "is not a positive duration like 30s, 500ms or 1m30s",
                    });
                }
            },
        };
        Ok(Self {
            max_concurrency: count(MAX_CONCURRENCY_ANNOTATION, 1, DEFAULT_MAX_CONCURRENCY)?,
            max_queue: count(MAX_QUEUE_ANNOTATION, 0, DEFAULT_MAX_QUEUE)?,
            request_timeout,
        })
    }
}

/// Parses a Go `time.ParseDuration` string without a sign: one or more decimal numbers,
/// each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), e.g. `1h30m`, `1.5s`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    match goduration::parse(text)? {
        goduration::Signed {
            negative: false,
            magnitude,
        } if !text.starts_with('+') => Some(magnitude),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(annotations: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p", "annotations": annotations}}))
            .expect("pod")
    }

    #[test]
    fn go_durations() {
        let ms = Duration::from_millis;
        assert_eq!(parse_duration("60s"), Some(ms(60_000)));
        assert_eq!(parse_duration("500ms"), Some(ms(500)));
        assert_eq!(parse_duration("1m30s"), Some(ms(90_000)));
        assert_eq!(parse_duration("1.5h"), Some(ms(5_400_000)));
        assert_eq!(parse_duration("2h45m0.5s"), Some(ms(9_900_500)));
        assert_eq!(parse_duration("10us"), Some(Duration::from_micros(10)));
        for bad in ["", "10", "s", "1x", "1m-3s", "1 m", "-1s", ".s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn defaults_without_annotations() {
        assert_eq!(
            Tuning::of(&pod(json!({}))).expect("tuning"),
            Tuning {
                max_concurrency: DEFAULT_MAX_CONCURRENCY,
                max_queue: DEFAULT_MAX_QUEUE,
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
            }
        );
    }

    #[test]
    fn annotations_set_each_knob() {
        let tuning = Tuning::of(&pod(json!({
            "skiff.dev/max-concurrency": "8",
            "skiff.dev/max-queue": "0",
            "skiff.dev/request-timeout": "2m",
        })))
        .expect("tuning");
        assert_eq!(
            tuning,
            Tuning {
                max_concurrency: 8,
                max_queue: 0,
                request_timeout: Duration::from_secs(120),
            }
        );
    }

    #[test]
    fn bad_values_are_errors_naming_the_annotation() {
        for (name, value) in [
            ("skiff.dev/max-concurrency", "0"),
            ("skiff.dev/max-concurrency", "many"),
            ("skiff.dev/max-queue", "-1"),
            ("skiff.dev/request-timeout", "30"),
            ("skiff.dev/request-timeout", "0s"),
        ] {
            let error = Tuning::of(&pod(json!({ name: value })))
                .expect_err(value)
                .to_string();
            assert!(error.contains(name) && error.contains(value), "{error}");
        }
    }
}
