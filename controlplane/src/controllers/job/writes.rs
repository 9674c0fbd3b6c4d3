//! The Job controller's pod writes: creating pods (in slow-start batches, as Kubernetes
//! does, so that a Job whose pods cannot be created fails one create rather than
//! thousands), deleting them, and removing their [`TRACKING_FINALIZER`]. Every write's
//! revision goes to the Job's expectations.

use super::pods::{self, TRACKING_FINALIZER};
use super::{Error, Inner};
use crate::apiserver::error::ApiError;
use crate::machinery::client::{DeleteParams, Propagation};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use skiff_model::events::Involved;
use std::sync::Arc;

/// Pods created at once at most (the slow start doubles up to it).
const MAX_BATCH: usize = 500;

impl Inner {
    /// Creates a pod of `job` per index in `indexes`; returns how many were created, and
    /// the first failure, after which no more are tried.
    pub(super) async fn create_pods(
        &self,
        key: &str,
        job: &Job,
        indexes: &[Option<i32>],
    ) -> (usize, Result<(), Error>) {
        let mut created = 0;
        let mut batch = 1;
        let mut rest = indexes;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(batch.min(rest.len()));
            rest = later;
            let mut tasks = tokio::task::JoinSet::new();
            for index in now {
                let client = self.client.clone();
                let pod = pods::new_pod(job, *index);
                tasks.spawn(async move { client.create(&pod).await });
            }
            let mut failure = None;
            while let Some(result) = tasks.join_next().await {
                match result {
                    Ok(Ok(pod)) => {
                        created += 1;
                        self.expectations
                            .pod_written(key, super::expectations::revision_of(&pod));
                        self.events.normal(
                            Involved::of::<Job>(&job.metadata),
                            "SuccessfulCreate",
                            format!("Created pod: {}", pod.metadata.name.unwrap_or_default()),
                        );
                    }
                    Ok(Err(e)) => {
                        self.events.warning(
                            Involved::of::<Job>(&job.metadata),
                            "FailedCreate",
                            format!("Error creating: {}", e.message),
                        );
                        failure.get_or_insert(e);
                    }
                    Err(join) => {
                        failure.get_or_insert(ApiError::internal(join));
                    }
                }
            }
            if let Some(e) = failure {
                return (created, Err(Error::write("create a pod for job", key)(e)));
            }
            batch = (batch * 2).min(MAX_BATCH);
        }
        (created, Ok(()))
    }

    /// Deletes `pod` of the Job `key` (by UID, so that a successor of the same name is
    /// never deleted); a pod already gone counts as deleted.
    pub(super) async fn delete_pod(&self, key: &str, job: &Job, pod: &Pod) -> Result<(), Error> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let params = DeleteParams {
            uid: pod.metadata.uid.clone(),
            propagation: Some(Propagation::Background),
            ..DeleteParams::default()
        };
        let namespace = pod.metadata.namespace.as_deref();
        match self
            .client
            .delete_with::<Pod>(namespace, &name, &params)
            .await
        {
            Ok(deleted) => {
                let revision = skiff_model::meta::meta_str(&deleted, "resourceVersion")
                    .and_then(|rv| rv.parse().ok())
                    .unwrap_or(0);
                self.expectations.pod_written(key, revision);
                self.events.normal(
                    Involved::of::<Job>(&job.metadata),
                    "SuccessfulDelete",
                    format!("Deleted pod: {name}"),
                );
                Ok(())
            }
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(e) => Err(Error::write("delete pod", format!("{key}: {name}"))(e)),
        }
    }

    /// Removes the [`TRACKING_FINALIZER`] from `pod` (if it is still the same pod);
    /// `key` is the Job whose expectations record the write, if any.
    pub(super) async fn release_pod(&self, key: Option<&str>, pod: &Pod) -> Result<(), Error> {
        let uid = pod.metadata.uid.clone();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let result = self
            .client
            .update::<Pod>(pod.metadata.namespace.as_deref(), &name, |p| {
                let Some(finalizers) = p.metadata.finalizers.as_mut() else {
                    return false;
                };
                let before = finalizers.len();
                finalizers.retain(|f| f != TRACKING_FINALIZER);
                let changed = finalizers.len() != before;
                if finalizers.is_empty() {
                    p.metadata.finalizers = None;
                }
                p.metadata.uid == uid && changed
            })
            .await;
        match result {
            Ok(written) => {
                if let Some(key) = key {
                    self.expectations
                        .pod_written(key, super::expectations::revision_of(&written));
                }
                Ok(())
            }
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(e) => Err(Error::write(
                "remove the tracking finalizer of pod",
                crate::machinery::informer::key_of(&pod.metadata),
            )(e)),
        }
    }

    /// Removes the finalizer from every pod in `pods`; returns the UIDs of those released
    /// and the first failure.
    pub(super) async fn release_pods(
        &self,
        key: &str,
        pods: &[Arc<Pod>],
    ) -> (Vec<String>, Result<(), Error>) {
        let mut released = Vec::new();
        let mut failure = Ok(());
        for pod in pods {
            match self.release_pod(Some(key), pod).await {
                Ok(()) => released.push(pod.metadata.uid.clone().unwrap_or_default()),
                Err(e) => {
                    if failure.is_ok() {
                        failure = Err(e);
                    }
                }
            }
        }
        (released, failure)
    }
}
