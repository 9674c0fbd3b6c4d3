//! The annotations a Deployment keeps on its ReplicaSets and itself, which `kubectl
//! rollout history` and `rollout undo` read: each ReplicaSet's `revision` (the new one
//! gets one more than any old one; an old one that becomes new again gets the next number
//! and remembers its earlier ones in `revision-history`), the Deployment's current
//! revision, the `desired-replicas` / `max-replicas` a ReplicaSet was last sized for
//! (proportional scaling reads them), and the Deployment's own annotations copied to its
//! new ReplicaSet (`kubernetes.io/change-cause` among them).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// A ReplicaSet's revision, and the Deployment's current one.
pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
/// Earlier revisions of a ReplicaSet that was rolled back to, comma-separated.
pub(crate) const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
/// The Deployment's `replicas` when it last sized the ReplicaSet.
pub(crate) const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
/// The Deployment's `replicas + maxSurge` when it last sized the ReplicaSet.
pub(crate) const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// kubectl's record of the applied manifest: never copied to ReplicaSets.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// The retired in-server rollback request: never copied.
const ROLLBACK_TO: &str = "deprecated.deployment.rollback.to";

/// Longest `revision-history` kept; the oldest revisions are dropped to fit (Kubernetes'
/// `maxRevHistoryLengthInChars`).
pub(crate) const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// Deployment annotations that are not copied to its ReplicaSets.
fn skipped(key: &str) -> bool {
    [
        LAST_APPLIED,
        REVISION,
        REVISION_HISTORY,
        DESIRED_REPLICAS,
        MAX_REPLICAS,
        ROLLBACK_TO,
    ]
    .contains(&key)
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

/// The object's revision (0 when missing or not a number).
pub(crate) fn revision(meta: &ObjectMeta) -> i64 {
    annotation(meta, REVISION)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The highest revision among `metas` (0 if none).
pub(crate) fn max_revision<'a>(metas: impl IntoIterator<Item = &'a ObjectMeta>) -> i64 {
    metas.into_iter().map(revision).max().unwrap_or(0)
}

/// The `desired-replicas` annotation, if set and a number.
pub(crate) fn desired_replicas(meta: &ObjectMeta) -> Option<i32> {
    annotation(meta, DESIRED_REPLICAS)?.parse().ok()
}

/// The `max-replicas` annotation, if set and a number.
pub(crate) fn max_replicas(meta: &ObjectMeta) -> Option<i32> {
    annotation(meta, MAX_REPLICAS)?.parse().ok()
}

/// Whether the replicas annotations differ from `desired` and `max`.
pub(crate) fn replicas_annotations_differ(meta: &ObjectMeta, desired: i32, max: i32) -> bool {
    annotation(meta, DESIRED_REPLICAS) != Some(desired.to_string().as_str())
        || annotation(meta, MAX_REPLICAS) != Some(max.to_string().as_str())
}

/// Sets the replicas annotations; returns whether they changed.
pub(crate) fn set_replicas_annotations(meta: &mut ObjectMeta, desired: i32, max: i32) -> bool {
    if !replicas_annotations_differ(meta, desired, max) {
        return false;
    }
    let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
    annotations.insert(DESIRED_REPLICAS.into(), desired.to_string());
    annotations.insert(MAX_REPLICAS.into(), max.to_string());
    true
}

/// Sets the Deployment's revision annotation; returns whether it changed.
pub(crate) fn set_deployment_revision(meta: &mut ObjectMeta, revision: &str) -> bool {
    if annotation(meta, REVISION) == Some(revision) {
        return false;
    }
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(REVISION.into(), revision.into());
    true
}

/// Brings the new ReplicaSet's annotations up to date (Kubernetes'
/// `SetNewReplicaSetAnnotations`): copies the Deployment's annotations, raises its
/// revision to `new_revision` if it is lower (recording the old number in the history
/// when it had one), and — for a ReplicaSet about to be created (`!exists`) — sets the
/// replicas annotations. Returns whether anything changed.
pub(crate) fn sync_new_replica_set(
    deployment: &ObjectMeta,
    rs: &mut ObjectMeta,
    new_revision: i64,
    exists: bool,
    desired: i32,
    max: i32,
) -> bool {
    let mut changed = false;
    let annotations = rs.annotations.get_or_insert_with(BTreeMap::new);
    for (key, value) in deployment.annotations.iter().flatten() {
        if skipped(key) || annotations.get(key) == Some(value) {
            continue;
        }
        annotations.insert(key.clone(), value.clone());
        changed = true;
    }
    let old = annotations.get(REVISION).cloned();
    let old_number = match old.as_deref() {
        None | Some("") => 0,
        Some(text) => match text.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                tracing::warn!(
                    revision = text,
                    "ReplicaSet revision is not a number; left alone"
                );
                return changed;
            }
        },
    };
    if old_number < new_revision {
        annotations.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            let history = annotations
                .get(REVISION_HISTORY)
                .cloned()
                .unwrap_or_default();
            if let Some(history) = append_history(&history, &old) {
                annotations.insert(REVISION_HISTORY.into(), history);
            }
        }
    }
    if !exists && set_replicas_annotations(rs, desired, max) {
        changed = true;
    }
    changed
}

/// `history` with `revision` appended, dropping the oldest entries to stay within
/// [`MAX_REVISION_HISTORY_CHARS`]; `None` if even that cannot fit it.
fn append_history(history: &str, revision: &str) -> Option<String> {
    if history.is_empty() {
        return Some(revision.to_string());
    }
    let mut entries: Vec<&str> = history.split(',').collect();
    let mut total = history.len() + revision.len() + 1;
    let mut start = 0;
    while total > MAX_REVISION_HISTORY_CHARS && start < entries.len() {
        total -= entries[start].len() + 1;
        start += 1;
    }
    if total > MAX_REVISION_HISTORY_CHARS {
        return None;
    }
    entries.drain(..start);
    entries.push(revision);
    Some(entries.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(annotations: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            annotations: Some(
                annotations
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        }
    }

    fn get<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
        annotation(meta, key)
    }

    #[test]
    fn a_new_replica_set_gets_the_next_revision_and_the_deployment_annotations() {
        let deployment = meta(&[
            ("kubernetes.io/change-cause", "kubectl set image"),
            (LAST_APPLIED, "{...}"),
            (REVISION, "7"),
            ("team", "web"),
        ]);
        let mut rs = ObjectMeta::default();
        assert!(sync_new_replica_set(&deployment, &mut rs, 3, false, 4, 5));
        assert_eq!(get(&rs, REVISION), Some("3"));
        assert_eq!(
            get(&rs, "kubernetes.io/change-cause"),
            Some("kubectl set image")
        );
        assert_eq!(get(&rs, "team"), Some("web"));
        assert_eq!(get(&rs, LAST_APPLIED), None);
        assert_eq!(get(&rs, DESIRED_REPLICAS), Some("4"));
        assert_eq!(get(&rs, MAX_REPLICAS), Some("5"));
        assert_eq!(get(&rs, REVISION_HISTORY), None);
        // Nothing new: nothing changes.
        assert!(!sync_new_replica_set(&deployment, &mut rs, 3, true, 4, 5));
    }

    #[test]
    fn a_replica_set_rolled_back_to_gets_a_new_revision_and_keeps_its_old_ones() {
        let deployment = meta(&[]);
        let mut rs = meta(&[(REVISION, "1")]);
        assert!(sync_new_replica_set(&deployment, &mut rs, 3, true, 1, 1));
        assert_eq!(get(&rs, REVISION), Some("3"));
        assert_eq!(get(&rs, REVISION_HISTORY), Some("1"));
        assert!(sync_new_replica_set(&deployment, &mut rs, 5, true, 1, 1));
        assert_eq!(get(&rs, REVISION), Some("5"));
        assert_eq!(get(&rs, REVISION_HISTORY), Some("1,3"));
        // A revision is never lowered (old ReplicaSets may have been pruned).
        assert!(!sync_new_replica_set(&deployment, &mut rs, 2, true, 1, 1));
        assert_eq!(get(&rs, REVISION), Some("5"));
        // Existing ReplicaSets keep their replicas annotations.
        assert_eq!(get(&rs, DESIRED_REPLICAS), None);
    }

    #[test]
    fn revisions_are_read_as_numbers() {
        let metas = [
            meta(&[(REVISION, "2")]),
            meta(&[(REVISION, "10")]),
            meta(&[]),
        ];
        assert_eq!(max_revision(&metas), 10);
        assert_eq!(revision(&meta(&[(REVISION, "x")])), 0);
        assert_eq!(max_revision([]), 0);
        let mut d = meta(&[]);
        assert!(set_deployment_revision(&mut d, "4"));
        assert!(!set_deployment_revision(&mut d, "4"));
        assert_eq!(get(&d, REVISION), Some("4"));
    }

    #[test]
    fn replicas_annotations_are_set_once() {
        let mut rs = ObjectMeta::default();
        assert!(replicas_annotations_differ(&rs, 3, 4));
        assert!(set_replicas_annotations(&mut rs, 3, 4));
        assert!(!set_replicas_annotations(&mut rs, 3, 4));
        assert_eq!(
            (desired_replicas(&rs), max_replicas(&rs)),
            (Some(3), Some(4))
        );
        assert!(set_replicas_annotations(&mut rs, 5, 6));
        assert_eq!(desired_replicas(&rs), Some(5));
    }

    #[test]
    fn the_history_drops_its_oldest_entries_to_fit() {
        assert_eq!(append_history("", "1"), Some("1".into()));
        assert_eq!(append_history("1,2", "3"), Some("1,2,3".into()));
        let long = (0..600)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let kept = append_history(&long, "600").expect("fits");
        assert!(kept.len() <= MAX_REVISION_HISTORY_CHARS);
        assert!(kept.ends_with(",599,600"));
        assert!(!kept.starts_with("0,"));
    }
}
