//! The `RollingUpdate` strategy (Kubernetes' `rolloutRolling`): the new ReplicaSet grows
//! while the total stays within `replicas + maxSurge`, and old ReplicaSets shrink while
//! at least `replicas - maxUnavailable` pods stay available — unhealthy old pods first,
//! since removing them costs no availability. Each reconcile takes one step; the next
//! comes when pods become available.

use super::rollout::{Rollout, spec_replicas};
use super::{Error, fenceposts, status};
use crate::machinery::controller::Action;

/// The size the new ReplicaSet (now `current`) may grow to when all ReplicaSets hold
/// `total` replicas: up to `replicas + surge` in all, never past `replicas`.
pub(crate) fn new_replicas(replicas: i32, surge: i32, total: i32, current: i32) -> i32 {
    let max_total = replicas + surge;
    if total >= max_total {
        return current;
    }
    current + (max_total - total).min(replicas - current).max(0)
}

/// How many old replicas may go: the total beyond the minimum available, less the new
/// ReplicaSet's pods that are not available yet (they may never be).
pub(crate) fn max_scale_down(total: i32, min_available: i32, new_unavailable: i32) -> i32 {
    total - min_available - new_unavailable
}

/// New sizes of old ReplicaSets (`(replicas, available)`, oldest first) after dropping up
/// to `max` of their unavailable replicas.
pub(crate) fn drop_unhealthy(old: &[(i32, i32)], max: i32) -> Vec<i32> {
    let mut dropped = 0;
    old.iter()
        .map(|&(replicas, available)| {
            if dropped >= max || replicas == 0 || replicas <= available {
                return replicas;
            }
            let n = (max - dropped).min(replicas - available);
            dropped += n;
            replicas - n
        })
        .collect()
}

/// New sizes of old ReplicaSets (`replicas`, oldest first) when `available` pods are
/// available in all and `min_available` must stay.
pub(crate) fn drop_available(old: &[i32], available: i32, min_available: i32) -> Vec<i32> {
    let mut left = (available - min_available).max(0);
    old.iter()
        .map(|&replicas| {
            let n = replicas.min(left);
            left -= n;
            replicas - n
        })
        .collect()
}

impl Rollout<'_> {
    /// One step of a rolling update.
    pub(super) async fn rolling(&mut self) -> Result<Action, Error> {
        self.sync_new_replica_set(true).await?;
        if self.grow_new().await? || self.shrink_old().await? {
            return self.sync_rollout_status().await;
        }
        let complete = self
            .d
            .status
            .as_ref()
            .is_some_and(|s| status::is_complete(&self.d, s));
        if complete {
            self.prune_history().await?;
        }
        self.sync_rollout_status().await
    }

    /// Grows (or trims) the new ReplicaSet; returns whether it changed.
    async fn grow_new(&mut self) -> Result<bool, Error> {
        let Some(index) = self.new else {
            return Ok(false);
        };
        let (current, replicas) = (spec_replicas(&self.rses[index]), self.replicas());
        if current == replicas {
            return Ok(false);
        }
        if current > replicas {
            return self.scale_to(index, replicas).await;
        }
        let to = self.new_replicas(current);
        self.scale_to(index, to).await
    }

    /// Shrinks old ReplicaSets as far as availability allows; returns whether any shrank.
    async fn shrink_old(&mut self) -> Result<bool, Error> {
        let old = self.active_old();
        if old.is_empty() {
            return Ok(false);
        }
        let min_available = self.replicas() - fenceposts::max_unavailable(&self.d);
        let new_unavailable = self.new.map_or(0, |i| {
            let rs = &self.rses[i];
            (spec_replicas(rs) - self.available(rs)).max(0)
        });
        let max = max_scale_down(self.total_spec(), min_available, new_unavailable);
        if max <= 0 {
            return Ok(false);
        }
        let mut shrank = false;
        let sizes: Vec<(i32, i32)> = old
            .iter()
            .map(|i| {
                (
                    spec_replicas(&self.rses[*i]),
                    self.available(&self.rses[*i]),
                )
            })
            .collect();
        for (index, to) in old.iter().zip(drop_unhealthy(&sizes, max)) {
            if to != spec_replicas(&self.rses[*index]) {
                shrank |= self.scale_to(*index, to).await?;
            }
        }
        let available: i32 = self.rses.iter().map(|rs| self.available(rs)).sum();
        let sizes: Vec<i32> = old.iter().map(|i| spec_replicas(&self.rses[*i])).collect();
        for (index, to) in old
            .iter()
            .zip(drop_available(&sizes, available, min_available))
        {
            if to != spec_replicas(&self.rses[*index]) {
                shrank |= self.scale_to(*index, to).await?;
            }
        }
        Ok(shrank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_new_replica_set_grows_within_the_surge() {
        // 4 replicas, surge 1: with 4 old replicas the new one may have 1.
        assert_eq!(new_replicas(4, 1, 4, 0), 1);
        // At 5 in all: no more.
        assert_eq!(new_replicas(4, 1, 5, 1), 1);
        // Old shrank to 2: the new may reach 3.
        assert_eq!(new_replicas(4, 1, 3, 1), 3);
        // Never past replicas.
        assert_eq!(new_replicas(4, 10, 0, 0), 4);
        assert_eq!(new_replicas(4, 0, 3, 2), 3);
    }

    #[test]
    fn old_replicas_go_only_beyond_the_minimum_available() {
        // 4 replicas, 1 unavailable allowed: 3 must stay available.
        assert_eq!(max_scale_down(5, 3, 1), 1);
        assert_eq!(max_scale_down(5, 3, 2), 0);
        // Unhealthy replicas go first, oldest set first, up to the max.
        assert_eq!(drop_unhealthy(&[(3, 1), (2, 0)], 3), [1, 1]);
        assert_eq!(drop_unhealthy(&[(3, 3), (2, 0)], 1), [3, 1]);
        assert_eq!(drop_unhealthy(&[(0, 0), (2, 2)], 5), [0, 2]);
        // Then available ones, down to the minimum.
        assert_eq!(drop_available(&[2, 3], 6, 3), [0, 2]);
        assert_eq!(drop_available(&[2, 3], 3, 3), [2, 3]);
        assert_eq!(drop_available(&[2], 1, 3), [2]);
    }

    #[test]
    fn a_whole_rollout_never_dips_below_the_minimum() {
        // Simulate 5 replicas, surge 1, unavailable 0, pods available at once: each
        // step, availability stays >= 5 and the rollout ends with 5 new, 0 old.
        let (replicas, surge, min_available) = (5, 1, 5);
        let (mut old, mut new) = (5, 0);
        for _ in 0..20 {
            let grown = new_replicas(replicas, surge, old + new, new);
            if grown != new {
                new = grown;
                continue;
            }
            let max = max_scale_down(old + new, min_available, 0);
            if max <= 0 {
                break;
            }
            let healthy = drop_unhealthy(&[(old, old)], max)[0];
            old = drop_available(&[healthy], healthy + new, min_available)[0];
            assert!(old + new >= min_available);
        }
        assert_eq!((old, new), (0, 5));
    }
}
