//! The `autoscaling.knative.dev/*` annotations of a Deployment opted in to request-driven
//! autoscaling (on the Deployment or its pod template): each value alone and the values
//! together, with Knative's wording, so that a bad value is refused at admission rather
//! than found by the autoscaler.

use super::cause::invalid;
use crate::controllers::kpa::annotations::{Annotations, validate};
use serde_json::Value;
use skiff_model::field::FieldCause;
use std::collections::BTreeMap;

/// Adds a cause for each problem with a Deployment's autoscaling annotations.
pub(super) fn check(object: &Value, causes: &mut Vec<FieldCause>) {
    let deployment = strings(object.pointer("/metadata/annotations"));
    let template = strings(object.pointer("/spec/template/metadata/annotations"));
    let annotations = Annotations::new(Some(&deployment), Some(&template));
    for problem in validate(&annotations) {
        causes.push(invalid(&problem.field, &problem.message));
    }
}

/// The string values of an annotations map (others are refused elsewhere).
fn strings(map: Option<&Value>) -> BTreeMap<String, String> {
    map.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}
