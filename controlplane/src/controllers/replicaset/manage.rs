//! Creating and deleting a ReplicaSet's pods to reach `replicas` (Kubernetes'
//! `manageReplicas`). Creations go out in slow-start batches — 1, 2, 4, ... pods, each
//! batch concurrently — so that a template the API rejects costs one failed request, not
//! hundreds, while a healthy scale from 0 to 1000 takes about ten round trips. Deletions go
//! out all at once, the least useful pods first. Every write is recorded in the
//! expectations first, so the next reconcile waits until the informer shows it.

use super::{Error, Shared};
use crate::controllers::pods::ownership::controller_ref;
use crate::controllers::pods::{self, ranking};
use crate::machinery::informer::key_of;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use skiff_model::events::Involved;
use std::sync::Arc;
use tokio::task::JoinSet;

/// Most pods one reconcile creates or deletes (Kubernetes' `BurstReplicas`, 500 there): a
/// bound on the writes in flight for one ReplicaSet; the rest follow once these are seen.
/// Higher than Kubernetes' because wasm pods are cheap and bursts of thousands are the
/// point: each extra reconcile waits for the informer to see the last one's writes.
pub const BURST_REPLICAS: usize = 5000;

/// Size of the first batch of creations; each following batch is twice the last
/// (Kubernetes' `SlowStartInitialBatchSize`, 1 there). Slow start keeps a create that will
/// fail for every pod (a quota, an admission refusal) from being attempted thousands of
/// times; 32 keeps that bound small while a burst of 1,000 takes 5 rounds instead of 10,
/// each round costing at least one durable commit.
pub const SLOW_START_INITIAL_BATCH: usize = 32;

impl Shared {
    /// Creates or deletes pods so that `pods` (the active pods the ReplicaSet owns) reach
    /// its `replicas`, at most [`BURST_REPLICAS`] at a time.
    pub(super) async fn manage(
        &self,
        key: &str,
        rs: &ReplicaSet,
        pods: &[Arc<Pod>],
    ) -> Result<(), Error> {
        let want = rs
            .spec
            .as_ref()
            .and_then(|s| s.replicas)
            .unwrap_or(1)
            .max(0) as usize;
        if pods.len() < want {
            self.create(key, rs, (want - pods.len()).min(BURST_REPLICAS))
                .await
        } else if pods.len() > want {
            self.delete(key, rs, pods, (pods.len() - want).min(BURST_REPLICAS))
                .await
        } else {
            Ok(())
        }
    }

    async fn create(&self, key: &str, rs: &ReplicaSet, count: usize) -> Result<(), Error> {
        let template = rs
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .ok_or_else(|| Error::NoTemplate(key.to_string()))?;
        let pod = pods::from_template(
            template,
            &rs.metadata,
            controller_ref::<ReplicaSet>(&rs.metadata),
        );
        let involved = Involved::of::<ReplicaSet>(&rs.metadata);
        self.expectations.expect_creations(key, count);
        let (created, failure) = slow_start(count, SLOW_START_INITIAL_BATCH, || {
            let (client, events) = (self.client.clone(), self.events.clone());
            let (pod, involved) = (pod.clone(), involved.clone());
            async move {
                match client.create(&pod).await {
                    Ok(created) => {
                        let name = created.metadata.name.unwrap_or_default();
                        events.normal(involved, "SuccessfulCreate", format!("Created pod: {name}"));
                        Ok(())
                    }
                    Err(e) => {
                        let message = format!("Error creating: {}", e.message);
                        events.warning(involved, "FailedCreate", message);
                        Err(e)
                    }
                }
            }
        })
        .await;
        // Creations that failed or were never issued will not show in the informer.
        if created < count {
            self.expectations.lower_creations(key, count - created);
        }
        match failure {
            Some(e) => Err(Error::api("create pods", key, &e)),
            None => Ok(()),
        }
    }

    async fn delete(
        &self,
        key: &str,
        rs: &ReplicaSet,
        pods: &[Arc<Pod>],
        count: usize,
    ) -> Result<(), Error> {
        let victims = ranking::to_delete(pods.to_vec(), count);
        self.expectations
            .expect_deletions(key, victims.iter().map(|p| key_of(&p.metadata)));
        let involved = Involved::of::<ReplicaSet>(&rs.metadata);
        let mut tasks = JoinSet::new();
        for pod in victims {
            let (client, events) = (self.client.clone(), self.events.clone());
            let involved = involved.clone();
            tasks.spawn(async move {
                let meta = &pod.metadata;
                let name = meta.name.clone().unwrap_or_default();
                let result = client
                    .delete::<Pod>(
                        meta.namespace.as_deref(),
                        &name,
                        meta.uid.as_deref(),
                        crate::machinery::client::Propagation::Background,
                    )
                    .await;
                match &result {
                    Ok(()) => {
                        events.normal(involved, "SuccessfulDelete", format!("Deleted pod: {name}"))
                    }
                    Err(e) if e.reason == "NotFound" => {}
                    Err(e) => events.warning(
                        involved,
                        "FailedDelete",
                        format!("Error deleting: {}", e.message),
                    ),
                }
                (key_of(meta), result)
            });
        }
        let mut failure = None;
        while let Some(joined) = tasks.join_next().await {
            let Ok((pod_key, result)) = joined else {
                continue;
            };
            if let Err(e) = result {
                // No deletion will show for this pod (or it already has).
                self.expectations.deletion_observed(key, &pod_key);
                if e.reason != "NotFound" {
                    failure = Some(e);
                }
            }
        }
        match failure {
            Some(e) => Err(Error::api("delete pods", key, &e)),
            None => Ok(()),
        }
    }
}

/// The batch sizes in which `count` operations go out: `initial`, then doubling, the last
/// one cut to what is left.
pub(crate) fn batch_sizes(count: usize, initial: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut remaining = count;
    let mut batch = initial.max(1).min(count);
    while batch > 0 {
        sizes.push(batch);
        remaining -= batch;
        batch = (batch * 2).min(remaining);
    }
    sizes
}

/// Runs `count` operations from `start` in [`batch_sizes`], each batch concurrently,
/// stopping after the first batch with a failure. Returns how many succeeded and the
/// first failure.
pub(crate) async fn slow_start<F, Fut, E>(
    count: usize,
    initial: usize,
    mut start: F,
) -> (usize, Option<E>)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Send + 'static,
{
    let (mut succeeded, mut issued) = (0, 0);
    for size in batch_sizes(count, initial) {
        issued += size;
        let mut batch = JoinSet::new();
        for _ in 0..size {
            batch.spawn(start());
        }
        let mut failure = None;
        while let Some(joined) = batch.join_next().await {
            match joined {
                Ok(Ok(())) => succeeded += 1,
                Ok(Err(e)) => failure = failure.or(Some(e)),
                Err(e) => tracing::error!(error = %e, "a pod write task failed"),
            }
        }
        if failure.is_some() || succeeded < issued {
            return (succeeded, failure);
        }
    }
    (succeeded, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn batches_start_small_and_double() {
        assert_eq!(batch_sizes(0, 1), Vec::<usize>::new());
        assert_eq!(batch_sizes(1, 1), [1]);
        assert_eq!(batch_sizes(10, 1), [1, 2, 4, 3]);
        let big = batch_sizes(1000, 1);
        assert_eq!(big.iter().sum::<usize>(), 1000);
        assert_eq!(big.len(), 10, "1000 pods in ten round trips: {big:?}");
    }

    #[tokio::test]
    async fn a_batch_runs_concurrently_and_a_failure_stops_the_next() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (done, failure) = slow_start::<_, _, ()>(100, 1, || {
            let (in_flight, peak) = (in_flight.clone(), peak.clone());
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .await;
        assert_eq!((done, failure), (100, None));
        assert!(
            peak.load(Ordering::SeqCst) > 1,
            "batches overlap their writes"
        );

        let calls = Arc::new(AtomicUsize::new(0));
        let (done, failure) = slow_start(100, 1, || {
            let calls = calls.clone();
            async move {
                // The fourth call (in the batch of four) fails.
                if calls.fetch_add(1, Ordering::SeqCst) == 3 {
                    Err("refused")
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert_eq!(failure, Some("refused"));
        assert_eq!(calls.load(Ordering::SeqCst), 7, "1 + 2 + 4, then stop");
        assert_eq!(done, 6);
    }
}
