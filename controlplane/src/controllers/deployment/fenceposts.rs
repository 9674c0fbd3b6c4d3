//! A rolling update's fenceposts: how many pods above `replicas` may exist (`maxSurge`)
//! and how many below it may be unavailable (`maxUnavailable`), each an integer or a
//! percentage of `replicas` — surge rounded up, unavailability rounded down. Both zero
//! would make a rollout impossible, so that case allows one unavailable pod (Kubernetes'
//! `ResolveFenceposts`).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// `value` as a number of pods out of `total`: an integer as is, a percentage of `total`
/// rounded up or down. `None` if it is neither (validation rejects such values).
pub(crate) fn scaled(value: &IntOrString, total: i32, round_up: bool) -> Option<i32> {
    match value {
        IntOrString::Int(n) => Some(*n),
        IntOrString::String(s) => {
            let percent: i64 = s.strip_suffix('%')?.trim().parse().ok()?;
            let product = percent * i64::from(total);
            let value = if round_up {
                product.div_euclid(100) + i64::from(product.rem_euclid(100) != 0)
            } else {
                product.div_euclid(100)
            };
            i32::try_from(value).ok()
        }
    }
}

/// `(maxSurge, maxUnavailable)` as pods, for `desired` replicas: missing values count
/// as zero, and if both come to zero one pod may be unavailable.
pub(crate) fn resolve(
    max_surge: Option<&IntOrString>,
    max_unavailable: Option<&IntOrString>,
    desired: i32,
) -> (i32, i32) {
    let value = |v: Option<&IntOrString>, up: bool| {
        v.map_or(Some(0), |v| scaled(v, desired, up))
            .unwrap_or_else(|| {
                tracing::warn!(value = ?v, "invalid rolling update fencepost; counted as 0");
                0
            })
    };
    let surge = value(max_surge, true).max(0);
    let unavailable = value(max_unavailable, false).max(0);
    if surge == 0 && unavailable == 0 {
        return (0, 1);
    }
    (surge, unavailable)
}

/// Whether the Deployment rolls (rather than recreates).
pub(crate) fn is_rolling(d: &Deployment) -> bool {
    let kind = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref());
    kind != Some("Recreate")
}

/// The Deployment's `spec.replicas` (1 when unset, as defaulted).
pub(crate) fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn fenceposts(d: &Deployment) -> (i32, i32) {
    let rolling = d
        .spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.rolling_update.as_ref());
    resolve(
        rolling.and_then(|r| r.max_surge.as_ref()),
        rolling.and_then(|r| r.max_unavailable.as_ref()),
        replicas(d),
    )
}

/// Pods the Deployment may run above `replicas` (0 unless rolling).
pub(crate) fn max_surge(d: &Deployment) -> i32 {
    if !is_rolling(d) {
        return 0;
    }
    fenceposts(d).0
}

/// Pods the Deployment may have unavailable (0 unless rolling; never above `replicas`).
pub(crate) fn max_unavailable(d: &Deployment) -> i32 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    fenceposts(d).1.min(replicas(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};

    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.to_string())
    }

    #[test]
    fn percentages_round_surge_up_and_unavailability_down() {
        assert_eq!(scaled(&pct("25%"), 10, true), Some(3));
        assert_eq!(scaled(&pct("25%"), 10, false), Some(2));
        assert_eq!(scaled(&pct("25%"), 4, true), Some(1));
        assert_eq!(scaled(&pct("25%"), 4, false), Some(1));
        assert_eq!(scaled(&pct("25%"), 1, false), Some(0));
        assert_eq!(scaled(&pct("25%"), 1, true), Some(1));
        assert_eq!(scaled(&pct("100%"), 7, false), Some(7));
        assert_eq!(scaled(&pct("0%"), 7, true), Some(0));
        assert_eq!(scaled(&IntOrString::Int(2), 7, true), Some(2));
        assert_eq!(scaled(&pct("two"), 7, true), None);
        assert_eq!(
            scaled(&pct("2"), 7, true),
            None,
            "strings must be percentages"
        );
    }

    #[test]
    fn both_zero_allows_one_unavailable() {
        let zero = IntOrString::Int(0);
        assert_eq!(resolve(Some(&zero), Some(&zero), 5), (0, 1));
        // 25% of 1 rounds down to no unavailability; surge 0 as well.
        assert_eq!(resolve(Some(&zero), Some(&pct("25%")), 1), (0, 1));
        assert_eq!(resolve(Some(&pct("25%")), Some(&pct("25%")), 4), (1, 1));
        assert_eq!(resolve(Some(&IntOrString::Int(1)), Some(&zero), 3), (1, 0));
        assert_eq!(resolve(None, None, 3), (0, 1));
    }

    fn deployment(kind: &str, replicas: i32, surge: i32, unavailable: i32) -> Deployment {
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: Some(kind.into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_surge: Some(IntOrString::Int(surge)),
                        max_unavailable: Some(IntOrString::Int(unavailable)),
                    }),
                }),
                ..DeploymentSpec::default()
            }),
            ..Deployment::default()
        }
    }

    #[test]
    fn recreate_has_no_fenceposts_and_unavailability_is_capped() {
        let recreate = deployment("Recreate", 3, 2, 2);
        assert_eq!((max_surge(&recreate), max_unavailable(&recreate)), (0, 0));
        let rolling = deployment("RollingUpdate", 3, 2, 5);
        assert_eq!((max_surge(&rolling), max_unavailable(&rolling)), (2, 3));
        let empty = deployment("RollingUpdate", 0, 2, 5);
        assert_eq!(max_unavailable(&empty), 0);
    }
}
