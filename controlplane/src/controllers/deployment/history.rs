//! `revisionHistoryLimit`: a Deployment keeps that many old ReplicaSets to roll back to
//! and deletes the oldest (by revision) beyond it — only those scaled to zero with no pod
//! left, so pruning never takes capacity (Kubernetes' `cleanupDeployment`).

use super::rollout::{Rollout, spec_replicas};
use super::{Error, revision};
use crate::controllers::pods::is_deleting;
use crate::machinery::client::Propagation;
use k8s_openapi::api::apps::v1::ReplicaSet;

/// An old ReplicaSet, as pruning sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Old {
    /// Its revision.
    pub(crate) revision: i64,
    /// Whether it may go: no replicas, no pods, its status current, not being deleted.
    pub(crate) prunable: bool,
}

/// Which of `old` (oldest created first) to delete to keep `limit`: the lowest revisions
/// beyond the limit, skipping any that may not go.
pub(crate) fn to_prune(old: &[Old], limit: i32) -> Vec<usize> {
    let excess = old.len() as i64 - i64::from(limit.max(0));
    if excess <= 0 {
        return Vec::new();
    }
    let mut by_revision: Vec<usize> = (0..old.len()).collect();
    by_revision.sort_by_key(|i| old[*i].revision);
    by_revision
        .into_iter()
        .take(excess as usize)
        .filter(|i| old[*i].prunable)
        .collect()
}

impl Rollout<'_> {
    /// Deletes old ReplicaSets beyond `revisionHistoryLimit`.
    pub(super) async fn prune_history(&mut self) -> Result<(), Error> {
        let Some(limit) = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .filter(|l| *l != i32::MAX)
        else {
            return Ok(());
        };
        let old: Vec<usize> = self
            .old()
            .into_iter()
            .filter(|i| !is_deleting(&self.rses[*i].metadata))
            .collect();
        let view: Vec<Old> = old
            .iter()
            .map(|i| {
                let rs = &self.rses[*i];
                let status = rs.status.clone().unwrap_or_default();
                let current =
                    status.observed_generation.unwrap_or(0) >= rs.metadata.generation.unwrap_or(0);
                Old {
                    revision: revision::revision(&rs.metadata),
                    prunable: spec_replicas(rs) == 0
                        && status.replicas == 0
                        && self.counts(rs).present == 0
                        && current,
                }
            })
            .collect();
        for position in to_prune(&view, limit) {
            let rs = &self.rses[old[position]];
            let name = rs.metadata.name.clone().unwrap_or_default();
            let result = self
                .shared
                .client
                .delete::<ReplicaSet>(
                    rs.metadata.namespace.as_deref(),
                    &name,
                    rs.metadata.uid.as_deref(),
                    Propagation::Background,
                )
                .await;
            match result {
                Ok(()) => {
                    tracing::debug!(deployment = %self.key, replicaset = %name, "pruned old ReplicaSet")
                }
                Err(e) if e.reason == "NotFound" => {}
                Err(e) => return Err(Error::api("delete an old ReplicaSet", self.key, &e)),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old(revision: i64, prunable: bool) -> Old {
        Old { revision, prunable }
    }

    #[test]
    fn the_lowest_revisions_beyond_the_limit_go() {
        let sets = [old(3, true), old(1, true), old(2, true), old(4, true)];
        assert_eq!(to_prune(&sets, 2), [1, 2]);
        assert_eq!(to_prune(&sets, 4), Vec::<usize>::new());
        assert_eq!(to_prune(&sets, 0), [1, 2, 0, 3]);
    }

    #[test]
    fn sets_with_pods_are_kept_even_beyond_the_limit() {
        let sets = [old(1, false), old(2, true), old(3, true)];
        assert_eq!(
            to_prune(&sets, 1),
            [1],
            "revision 1 stays, not replaced by 3"
        );
    }
}
