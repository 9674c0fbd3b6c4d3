//! Pods that still carry the tracking finalizer but whose Job is gone (deleted, or its
//! owner reference removed when the Job was deleted with `propagationPolicy: Orphan`):
//! nothing will count them any more, so their finalizer is removed, as Kubernetes' Job
//! controller does for orphan pods. The Job is looked up live first: one that exists but
//! is not yet in the informer keeps its pods.

use super::pods::{self, is_tracked};
use super::{Error, Inner};
use crate::machinery::controller::Action;
use k8s_openapi::api::batch::v1::Job;

impl Inner {
    /// Releases the pod at `key` if its Job is gone.
    pub(super) async fn release_orphan(&self, key: &str) -> Result<Action, Error> {
        let Some(pod) = self.pods.get(key) else {
            return Ok(Action::await_change());
        };
        if !is_tracked(&pod) || pods::job_known(&pod, &self.jobs) {
            return Ok(Action::await_change());
        }
        if let (Some(owner), Some(job_key)) = (pods::job_owner(&pod), pods::job_key(&pod)) {
            let namespace = pod.metadata.namespace.as_deref();
            match self.client.get::<Job>(namespace, &owner.name).await {
                Ok(job) if job.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
                    // Alive, only not seen yet: its own reconcile counts the pod.
                    self.queue.add(job_key);
                    return Ok(Action::await_change());
                }
                Ok(_) => {}
                Err(e) if e.reason == "NotFound" => {}
                Err(e) => return Err(Error::write("read job", job_key)(e)),
            }
        }
        tracing::debug!(pod = %key, "releasing a pod whose job is gone");
        self.release_pod(None, &pod).await?;
        Ok(Action::await_change())
    }
}
