//! A Job's pods: building one from the Job's template, finding a pod's Job, and the
//! predicates pods are counted by.

use crate::machinery::informer::Informer;
use k8s_openapi::Resource;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use skiff_model::labels::{
    CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL,
};

/// The finalizer that keeps a Job's pod until the Job has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";
/// Annotation (and label) with the completion index of a pod of an `Indexed` Job.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";
/// The environment variable an `Indexed` Job's containers read their index from.
const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

/// How a finished pod counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// It succeeded: one completion.
    Succeeded,
    /// It failed, or was deleted before it succeeded: one failure.
    Failed,
    /// It was deleted while the Job was suspended: it counts for nothing.
    Released,
}

/// A new pod of `job`, with completion `index` for `Indexed` Jobs.
pub(super) fn new_pod(job: &Job, index: Option<i32>) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let meta = template.metadata.unwrap_or_default();
    let mut labels = meta.labels.unwrap_or_default();
    let mut annotations = meta.annotations.unwrap_or_default();
    for key in [JOB_NAME_LABEL, LEGACY_JOB_NAME_LABEL] {
        labels
            .entry(key.to_string())
            .or_insert_with(|| name.clone());
    }
    for key in [CONTROLLER_UID_LABEL, LEGACY_CONTROLLER_UID_LABEL] {
        labels.entry(key.to_string()).or_insert_with(|| uid.clone());
    }
    let mut finalizers = meta.finalizers.unwrap_or_default();
    finalizers.push(TRACKING_FINALIZER.to_string());
    let mut spec = template.spec.unwrap_or_default();
    let generate_name = match index {
        Some(index) => {
            labels.insert(COMPLETION_INDEX.to_string(), index.to_string());
            annotations.insert(COMPLETION_INDEX.to_string(), index.to_string());
            if spec.hostname.is_none() {
                spec.hostname = Some(format!("{name}-{index}"));
            }
            for container in spec
                .containers
                .iter_mut()
                .chain(spec.init_containers.iter_mut().flatten())
            {
                let env = container.env.get_or_insert_with(Vec::new);
                if !env.iter().any(|e| e.name == INDEX_ENV) {
                    env.push(index_env());
                }
            }
            format!("{name}-{index}-")
        }
        None => format!("{name}-"),
    };
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(generate_name),
            namespace: job.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: Some(annotations).filter(|a| !a.is_empty()),
            finalizers: Some(finalizers),
            owner_references: Some(vec![OwnerReference {
                api_version: Job::API_VERSION.to_string(),
                kind: Job::KIND.to_string(),
                name,
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    }
}

/// `JOB_COMPLETION_INDEX`, read from the pod's annotation as Kubernetes sets it.
fn index_env() -> EnvVar {
    EnvVar {
        name: INDEX_ENV.to_string(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: Some("v1".to_string()),
                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// The pod's controller reference, if a Job is its controller.
pub(super) fn job_owner(pod: &Pod) -> Option<&OwnerReference> {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .filter(|o| o.kind == Job::KIND && o.api_version == Job::API_VERSION)
}

/// The informer key of the pod's Job, if a Job is its controller.
pub(super) fn job_key(pod: &Pod) -> Option<String> {
    let owner = job_owner(pod)?;
    let namespace = pod.metadata.namespace.as_deref()?;
    Some(format!("{namespace}/{}", owner.name))
}

/// Whether the pod's Job (by UID) is in the informer.
pub(super) fn job_known(pod: &Pod, jobs: &Informer<Job>) -> bool {
    let Some(owner) = job_owner(pod) else {
        return false;
    };
    job_key(pod)
        .and_then(|key| jobs.get(&key))
        .is_some_and(|job| job.metadata.uid.as_deref() == Some(owner.uid.as_str()))
}

/// Whether the pod still carries the [`TRACKING_FINALIZER`].
pub(super) fn is_tracked(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == TRACKING_FINALIZER)
}

/// The pod's phase (`Pending` when not reported).
pub(super) fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Pending")
}

/// Whether the pod has run to an end.
pub(super) fn is_terminal(pod: &Pod) -> bool {
    matches!(phase(pod), "Succeeded" | "Failed")
}

/// Whether the pod is being deleted.
pub(super) fn is_deleting(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Whether the pod counts as running for its Job: neither finished nor being deleted.
pub(super) fn is_active(pod: &Pod) -> bool {
    !is_terminal(pod) && !is_deleting(pod)
}

/// Whether the pod's `Ready` condition is `True`.
pub(super) fn is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// How a pod counts once it is done: a pod being deleted before it succeeded counts as a
/// failure (it will never succeed), as Kubernetes counts it — except that pods deleted
/// while their Job is suspended count for nothing (suspending is not failing).
pub(super) fn outcome(pod: &Pod, suspended: bool) -> Option<Outcome> {
    match phase(pod) {
        "Succeeded" => Some(Outcome::Succeeded),
        "Failed" => Some(Outcome::Failed),
        _ if is_deleting(pod) && suspended => Some(Outcome::Released),
        _ if is_deleting(pod) => Some(Outcome::Failed),
        _ => None,
    }
}

/// The pod's completion index, if it has a valid one below `completions`.
pub(super) fn completion_index(pod: &Pod, completions: i32) -> Option<i32> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(COMPLETION_INDEX)?
        .parse::<i32>()
        .ok()
        .filter(|i| (0..completions).contains(i))
}

/// Container restarts of a running pod (for `restartPolicy: OnFailure`, where failures
/// are restarts in place rather than failed pods).
pub(super) fn restarts(pod: &Pod) -> i64 {
    if !matches!(phase(pod), "Pending" | "Running") {
        return 0;
    }
    let Some(status) = pod.status.as_ref() else {
        return 0;
    };
    status
        .container_statuses
        .iter()
        .flatten()
        .chain(status.init_container_statuses.iter().flatten())
        .map(|c| i64::from(c.restart_count))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodStatus, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn job() -> Job {
        Job {
            metadata: ObjectMeta {
                name: Some("pi".into()),
                namespace: Some("batch".into()),
                uid: Some("u-1".into()),
                ..ObjectMeta::default()
            },
            spec: Some(JobSpec {
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some([("app".to_string(), "pi".to_string())].into()),
                        ..ObjectMeta::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container {
                            name: "main".into(),
                            ..Container::default()
                        }],
                        ..PodSpec::default()
                    }),
                },
                ..JobSpec::default()
            }),
            status: None,
        }
    }

    #[test]
    fn a_pod_is_owned_labelled_and_tracked() {
        let pod = new_pod(&job(), None);
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("pi-"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("batch"));
        let labels = pod.metadata.labels.clone().expect("labels");
        assert_eq!(labels["app"], "pi");
        assert_eq!(labels[JOB_NAME_LABEL], "pi");
        assert_eq!(labels[LEGACY_CONTROLLER_UID_LABEL], "u-1");
        assert!(is_tracked(&pod));
        let owner = job_owner(&pod).expect("controller");
        assert_eq!(owner.uid, "u-1");
        assert_eq!(owner.block_owner_deletion, Some(true));
        assert_eq!(job_key(&pod).as_deref(), Some("batch/pi"));
    }

    #[test]
    fn an_indexed_pod_knows_its_index() {
        let pod = new_pod(&job(), Some(4));
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("pi-4-"));
        assert_eq!(completion_index(&pod, 5), Some(4));
        assert_eq!(completion_index(&pod, 4), None, "beyond completions");
        let spec = pod.spec.as_ref().expect("spec");
        assert_eq!(spec.hostname.as_deref(), Some("pi-4"));
        let env = spec.containers[0].env.as_ref().expect("env");
        assert_eq!(env[0].name, "JOB_COMPLETION_INDEX");
    }

    #[test]
    fn deleted_pods_count_as_failed_unless_suspended() {
        let mut pod = new_pod(&job(), None);
        assert_eq!(outcome(&pod, false), None);
        pod.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(outcome(&pod, false), Some(Outcome::Failed));
        assert_eq!(outcome(&pod, true), Some(Outcome::Released));
        pod.status = Some(PodStatus {
            phase: Some("Succeeded".into()),
            ..PodStatus::default()
        });
        assert_eq!(outcome(&pod, true), Some(Outcome::Succeeded));
        assert!(!is_active(&pod));
    }
}
