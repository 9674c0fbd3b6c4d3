//! The HPA's conditions, as Kubernetes sets them: [`set`] one (its transition time moves
//! only when its status changes), with the condition types and the reasons the controller
//! reports.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerCondition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Whether the target's scale can be read and written (`AbleToScale`).
pub const ABLE_TO_SCALE: &str = "AbleToScale";
/// Whether a replica count could be computed from the metrics (`ScalingActive`).
pub const SCALING_ACTIVE: &str = "ScalingActive";
/// Whether the count the metrics ask for was bounded (`ScalingLimited`).
pub const SCALING_LIMITED: &str = "ScalingLimited";

/// Sets condition `kind` in `conditions`, adding it if absent.
pub fn set(
    conditions: &mut Vec<HorizontalPodAutoscalerCondition>,
    kind: &str,
    status: bool,
    reason: &str,
    message: impl Into<String>,
    now: &Time,
) {
    let status = if status { "True" } else { "False" };
    let index = match conditions.iter().position(|c| c.type_ == kind) {
        Some(i) => i,
        None => {
            conditions.push(HorizontalPodAutoscalerCondition {
                type_: kind.to_string(),
                ..Default::default()
            });
            conditions.len() - 1
        }
    };
    let condition = &mut conditions[index];
    if condition.status != status {
        condition.last_transition_time = Some(now.clone());
    }
    condition.status = status.to_string();
    condition.reason = Some(reason.to_string());
    condition.message = Some(message.into());
}

/// The status of condition `kind`, if set.
pub fn status_of<'a>(
    conditions: &'a [HorizontalPodAutoscalerCondition],
    kind: &str,
) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn transition_time_moves_only_with_the_status() {
        let t1 = Time(Timestamp::from_second(1).expect("time"));
        let t2 = Time(Timestamp::from_second(2).expect("time"));
        let mut conditions = Vec::new();
        set(
            &mut conditions,
            ABLE_TO_SCALE,
            true,
            "SucceededGetScale",
            "a",
            &t1,
        );
        set(
            &mut conditions,
            ABLE_TO_SCALE,
            true,
            "SucceededRescale",
            "b",
            &t2,
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, Some(t1));
        assert_eq!(conditions[0].reason.as_deref(), Some("SucceededRescale"));
        set(
            &mut conditions,
            ABLE_TO_SCALE,
            false,
            "FailedGetScale",
            "c",
            &t2,
        );
        assert_eq!(conditions[0].last_transition_time, Some(t2));
        assert_eq!(status_of(&conditions, ABLE_TO_SCALE), Some("False"));
        assert_eq!(status_of(&conditions, SCALING_ACTIVE), None);
    }
}
