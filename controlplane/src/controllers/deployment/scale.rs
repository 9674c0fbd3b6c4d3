//! Scaling a Deployment without rolling it (Kubernetes' `scale` and `isScalingEvent`):
//! when `replicas` changes — `kubectl scale`, an autoscaler — or while paused, the
//! ReplicaSets follow. With one active ReplicaSet it takes the new size; mid-rollout the
//! change is spread over the active ReplicaSets in proportion to their sizes, so that the
//! rollout's ratio of new to old pods is kept.

use super::rollout::{Rollout, spec_replicas};
use super::{Error, fenceposts, revision};
use k8s_openapi::api::apps::v1::ReplicaSet;
use std::cmp::Ordering;

/// A ReplicaSet, as proportional scaling sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sized {
    /// Its `spec.replicas`.
    pub(crate) replicas: i32,
    /// The Deployment's `replicas + maxSurge` it was last sized for (`max-replicas`).
    pub(crate) sized_for: Option<i32>,
}

/// New sizes for `sets` (largest first, the order ties are broken in already decided),
/// spreading `to_add` (negative to remove) over them in proportion to their sizes, the
/// rounding leftover to the first (Kubernetes' `GetReplicaSetProportion`). `max_now` is
/// the Deployment's `replicas + maxSurge` now, `status_replicas` its last reported pods
/// (the fallback when a ReplicaSet lacks `max-replicas`), `replicas` its `replicas`.
pub(crate) fn proportional(
    sets: &[Sized],
    to_add: i32,
    replicas: i32,
    max_now: i32,
    status_replicas: i32,
) -> Vec<i32> {
    let mut added = 0;
    let mut sizes: Vec<i32> = sets
        .iter()
        .map(|rs| {
            if to_add == 0 || rs.replicas == 0 || to_add == added {
                return rs.replicas;
            }
            let fraction = if replicas == 0 {
                -rs.replicas
            } else {
                let before = rs.sized_for.filter(|m| *m != 0).unwrap_or(status_replicas);
                if before == 0 {
                    0
                } else {
                    let scaled = f64::from(rs.replicas) * f64::from(max_now) / f64::from(before);
                    scaled.round() as i32 - rs.replicas
                }
            };
            let allowed = to_add - added;
            let share = if to_add > 0 {
                fraction.min(allowed)
            } else {
                fraction.max(allowed)
            };
            added += share;
            rs.replicas + share
        })
        .collect();
    if let Some(first) = sizes.first_mut()
        && to_add != 0
    {
        *first = (*first + to_add - added).max(0);
    }
    sizes
}

impl Rollout<'_> {
    /// Whether some active ReplicaSet was sized for another `replicas` than the
    /// Deployment's: the user scaled, and only scaling is due.
    pub(super) async fn is_scaling_event(&mut self) -> Result<bool, Error> {
        self.sync_new_replica_set(false).await?;
        let replicas = self.replicas();
        Ok(self.rses.iter().any(|rs| {
            spec_replicas(rs) > 0
                && revision::desired_replicas(&rs.metadata).is_some_and(|d| d != replicas)
        }))
    }

    /// The one active ReplicaSet, or the newest if none is active; `None` if several are.
    fn active_or_latest(&self) -> Option<usize> {
        let active: Vec<usize> = (0..self.rses.len())
            .filter(|i| spec_replicas(&self.rses[*i]) > 0)
            .collect();
        match active.as_slice() {
            [] => self.new.or_else(|| self.old().last().copied()),
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Whether the new ReplicaSet is fully scaled and available.
    fn is_saturated(&self) -> bool {
        let Some(rs) = self.new.map(|i| &self.rses[i]) else {
            return false;
        };
        let replicas = self.replicas();
        spec_replicas(rs) == replicas
            && revision::desired_replicas(&rs.metadata) == Some(replicas)
            && self.counts(rs).available == replicas
    }

    /// Sizes the ReplicaSets for the Deployment's `replicas`.
    pub(super) async fn scale(&mut self) -> Result<(), Error> {
        let replicas = self.replicas();
        if let Some(index) = self.active_or_latest() {
            if spec_replicas(&self.rses[index]) != replicas {
                self.scale_to(index, replicas).await?;
            }
            return Ok(());
        }
        if self.is_saturated() {
            for index in self.active_old() {
                self.scale_to(index, 0).await?;
            }
            return Ok(());
        }
        if !fenceposts::is_rolling(&self.d) {
            return Ok(());
        }
        let max_now = replicas + fenceposts::max_surge(&self.d);
        let allowed = if replicas > 0 { max_now } else { 0 };
        let mut active: Vec<usize> = (0..self.rses.len())
            .filter(|i| spec_replicas(&self.rses[*i]) > 0)
            .collect();
        let to_add = allowed
            - active
                .iter()
                .map(|i| spec_replicas(&self.rses[*i]))
                .sum::<i32>();
        // Largest first; among equals, newer first when growing, older first when shrinking.
        active.sort_by(|a, b| {
            let (ra, rb) = (&self.rses[*a], &self.rses[*b]);
            spec_replicas(rb)
                .cmp(&spec_replicas(ra))
                .then_with(|| match to_add.cmp(&0) {
                    Ordering::Greater => b.cmp(a),
                    _ => a.cmp(b),
                })
        });
        let sets: Vec<Sized> = active.iter().map(|i| sized(&self.rses[*i])).collect();
        let status_replicas = self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let sizes = proportional(&sets, to_add, replicas, max_now, status_replicas);
        for (index, size) in active.into_iter().zip(sizes) {
            self.scale_to(index, size).await?;
        }
        Ok(())
    }
}

fn sized(rs: &ReplicaSet) -> Sized {
    Sized {
        replicas: spec_replicas(rs),
        sized_for: revision::max_replicas(&rs.metadata),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(replicas: i32, sized_for: i32) -> Sized {
        Sized {
            replicas,
            sized_for: Some(sized_for),
        }
    }

    #[test]
    fn growth_mid_rollout_keeps_the_ratio() {
        // 10 replicas + 3 surge = 13 pods: 8 old and 5 new. Scaled to 20 (+5 surge = 25).
        let sizes = proportional(&[set(8, 13), set(5, 13)], 12, 20, 25, 13);
        assert_eq!(sizes, [15, 10]);
        assert_eq!(sizes.iter().sum::<i32>(), 25);
    }

    #[test]
    fn shrinking_mid_rollout_keeps_the_ratio_and_never_goes_negative() {
        // 13 pods (8 + 5) scaled down to 5 replicas + 2 surge = 7.
        let sizes = proportional(&[set(8, 13), set(5, 13)], -6, 5, 7, 13);
        assert_eq!(sizes, [4, 3]);
        // Down to zero: everything goes.
        assert_eq!(
            proportional(&[set(8, 13), set(5, 13)], -13, 0, 0, 13),
            [0, 0]
        );
    }

    #[test]
    fn leftovers_go_to_the_first_and_missing_annotations_fall_back_to_status() {
        // Three equal sets of 1 grow by 1: the proportional shares round to 0, the first
        // takes the leftover.
        let sizes = proportional(&[set(1, 3), set(1, 3), set(1, 3)], 1, 3, 4, 3);
        assert_eq!(sizes, [2, 1, 1]);
        let bare = Sized {
            replicas: 2,
            sized_for: None,
        };
        assert_eq!(proportional(&[bare, bare], 4, 6, 8, 4), [4, 4]);
        assert_eq!(proportional(&[bare], 0, 6, 8, 4), [2]);
    }
}
