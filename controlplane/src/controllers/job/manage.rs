//! How many pods a Job should be running, and which to create or delete to get there
//! (Kubernetes' `manageJob`): at most `parallelism`, and never more than the completions
//! still missing. A pure [`plan`] over the Job's active pods; the writes are in `writes`.

use super::pods;
use k8s_openapi::api::batch::v1::JobSpec;
use k8s_openapi::api::core::v1::Pod;
use std::collections::BTreeSet;
use std::sync::Arc;

/// What to change.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Pods to create: their completion index (`None` for `NonIndexed` Jobs).
    pub create: Vec<Option<i32>>,
    /// Active pods to delete.
    pub delete: Vec<Arc<Pod>>,
}

/// The plan for a Job with `spec`, `active` pods, `succeeded` completions and, for
/// `Indexed` Jobs, the `completed` indexes.
pub(super) fn plan(
    spec: &JobSpec,
    active: &[Arc<Pod>],
    succeeded: i32,
    completed: &BTreeSet<i32>,
) -> Plan {
    let parallelism = spec.parallelism.unwrap_or(1).max(0);
    match spec.completions {
        Some(completions) if is_indexed(spec) => {
            indexed(completions, parallelism, active, completed)
        }
        Some(completions) => {
            let want = (completions - succeeded).clamp(0, parallelism);
            resize(active.to_vec(), want, |n| vec![None; n])
        }
        // A work queue: once one pod succeeded, no more are started.
        None if succeeded > 0 => Plan::default(),
        None => resize(active.to_vec(), parallelism, |n| vec![None; n]),
    }
}

/// Whether the Job gives its pods completion indexes.
pub(super) fn is_indexed(spec: &JobSpec) -> bool {
    spec.completion_mode.as_deref() == Some("Indexed") && spec.completions.is_some()
}

/// An `Indexed` Job runs one pod per index not yet completed: pods with a completed,
/// invalid or duplicate index go, and missing indexes are created lowest first.
fn indexed(
    completions: i32,
    parallelism: i32,
    active: &[Arc<Pod>],
    completed: &BTreeSet<i32>,
) -> Plan {
    let mut running = BTreeSet::new();
    let mut keep = Vec::new();
    let mut extra = Vec::new();
    for pod in active {
        match pods::completion_index(pod, completions) {
            Some(i) if !completed.contains(&i) && running.insert(i) => keep.push(pod.clone()),
            _ => extra.push(pod.clone()),
        }
    }
    let missing = usize::try_from(completions)
        .unwrap_or(0)
        .saturating_sub(completed.len());
    let want = i32::try_from(missing).unwrap_or(i32::MAX).min(parallelism);
    let mut plan = resize(keep, want, |n| {
        (0..completions)
            .filter(|i| !completed.contains(i) && !running.contains(i))
            .take(n)
            .map(Some)
            .collect()
    });
    plan.delete.extend(extra);
    plan
}

/// Deletes the surplus over `want` (least useful first) or creates what is missing.
fn resize(
    mut active: Vec<Arc<Pod>>,
    want: i32,
    create: impl FnOnce(usize) -> Vec<Option<i32>>,
) -> Plan {
    let want = usize::try_from(want).unwrap_or(0);
    if active.len() > want {
        active.sort_by_key(|p| deletion_rank(p));
        active.truncate(active.len() - want);
        return Plan {
            create: Vec::new(),
            delete: active,
        };
    }
    Plan {
        create: create(want - active.len()),
        delete: Vec::new(),
    }
}

/// Which pods go first: unscheduled before scheduled, then not ready before ready, then
/// the newest (Kubernetes' `ActivePods` ordering, simplified).
fn deletion_rank(pod: &Pod) -> (bool, bool, std::cmp::Reverse<i64>) {
    let scheduled = pod.spec.as_ref().is_some_and(|s| s.node_name.is_some());
    let created = pod
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(0, |t| t.0.as_second());
    (scheduled, pods::is_ready(pod), std::cmp::Reverse(created))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn spec(completions: Option<i32>, parallelism: i32, indexed: bool) -> JobSpec {
        JobSpec {
            completions,
            parallelism: Some(parallelism),
            completion_mode: Some(if indexed { "Indexed" } else { "NonIndexed" }.into()),
            ..JobSpec::default()
        }
    }

    fn pod(name: &str, index: Option<i32>) -> Arc<Pod> {
        Arc::new(Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                annotations: index
                    .map(|i| [(pods::COMPLETION_INDEX.to_string(), i.to_string())].into()),
                ..ObjectMeta::default()
            },
            ..Pod::default()
        })
    }

    #[test]
    fn never_more_than_parallelism_nor_the_completions_left() {
        let none = BTreeSet::new();
        assert_eq!(
            plan(&spec(Some(10), 3, false), &[], 0, &none).create.len(),
            3
        );
        let two = [pod("a", None), pod("b", None)];
        assert_eq!(
            plan(&spec(Some(10), 3, false), &two, 0, &none).create.len(),
            1
        );
        assert_eq!(
            plan(&spec(Some(10), 3, false), &two, 8, &none).create.len(),
            0
        );
        let p = plan(&spec(Some(10), 3, false), &two, 9, &none);
        assert_eq!((p.create.len(), p.delete.len()), (0, 1));
        assert_eq!(
            plan(&spec(Some(1), 3, false), &[], 1, &none).create.len(),
            0
        );
    }

    #[test]
    fn a_work_queue_stops_starting_pods_after_a_success() {
        let none = BTreeSet::new();
        assert_eq!(plan(&spec(None, 4, false), &[], 0, &none).create.len(), 4);
        let one = [pod("a", None)];
        let p = plan(&spec(None, 4, false), &one, 1, &none);
        assert!(p.create.is_empty() && p.delete.is_empty());
    }

    #[test]
    fn indexed_jobs_create_the_missing_indexes() {
        let completed: BTreeSet<i32> = [0].into();
        let active = [pod("a", Some(1)), pod("dup", Some(1)), pod("done", Some(0))];
        let p = plan(&spec(Some(5), 3, true), &active, 1, &completed);
        assert_eq!(p.create, vec![Some(2), Some(3)]);
        let mut deleted: Vec<_> = p.delete.iter().map(|p| p.metadata.name.clone()).collect();
        deleted.sort();
        assert_eq!(deleted, vec![Some("done".into()), Some("dup".into())]);
    }
}
