//! [`StatusReporter`]: writes pods' statuses to the API server, coalesced.
//!
//! Pod workers hand over a pod's whole latest status as often as it changes; the reporter
//! keeps only the newest per pod, skips statuses identical to what was last written, and
//! writes the rest with a bounded number of requests in flight. A burst of a thousand pods
//! starting is a thousand writes at most, not one per container state change, and a pod
//! whose status changes again while its write is in flight is written once more after.
//! Writes that fail (the API server is down) are retried with backoff, those the server
//! refused as too many (429) after the second it asks for; a pod that no longer exists is
//! forgotten.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// Status writes in flight at once. The API server commits concurrent writes together
/// (one fsync for many), so during a burst more in flight means bigger commits, not more
/// of them; 64 fill a commit at the rates one server reaches, and four agents together stay
/// within its default of 200 writes worked on at once plus as many queued (beyond that it
/// answers 429).
const IN_FLIGHT: usize = 64;

/// Delay before retrying a failed write; doubles to [`RETRY_MAX`].
const RETRY_BASE: Duration = Duration::from_millis(200);

/// Least delay after the API server refused a write as one too many (its `Retry-After`).
const OVERLOAD_WAIT: Duration = Duration::from_secs(1);

/// Longest delay between retries of a failed write.
const RETRY_MAX: Duration = Duration::from_secs(10);

/// A pod the reporter writes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodRef {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// UID: the incarnation of the name this status is for.
    pub uid: String,
}

#[derive(Default)]
struct State {
    /// Newest status per pod not yet written.
    pending: HashMap<PodRef, Value>,
    /// Pods with a pending status, in order of first change.
    queue: VecDeque<PodRef>,
    /// Pods with a write in flight (their next status waits for it).
    writing: HashMap<PodRef, ()>,
    /// Hash of the status last written per pod.
    written: HashMap<PodRef, u64>,
}

/// Coalescing writer of pod statuses. Cheap to clone.
#[derive(Clone)]
pub struct StatusReporter {
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
}

impl StatusReporter {
    /// Starts the writer, which runs until `shutdown`.
    pub fn start(client: kube::Client, shutdown: CancellationToken) -> Self {
        let reporter = Self {
            state: Arc::default(),
            wake: Arc::default(),
        };
        tokio::spawn(reporter.clone().run(client, shutdown));
        reporter
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Never held across a panic-prone section; recover the data if it was.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets a pod's latest status (the `status` object).
    pub fn set(&self, pod: &PodRef, status: Value) {
        let hash = hash(&status);
        let mut state = self.lock();
        if state.written.get(pod) == Some(&hash) && !state.writing.contains_key(pod) {
            state.pending.remove(pod);
            return;
        }
        if state.pending.insert(pod.clone(), status).is_none() && !state.writing.contains_key(pod) {
            state.queue.push_back(pod.clone());
        }
        drop(state);
        self.wake.notify_one();
    }

    /// Forgets a pod (it was deleted).
    pub fn forget(&self, pod: &PodRef) {
        let mut state = self.lock();
        state.pending.remove(pod);
        state.written.remove(pod);
    }

    async fn run(self, client: kube::Client, shutdown: CancellationToken) {
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        loop {
            let next = {
                let mut state = self.lock();
                loop {
                    match state.queue.pop_front() {
                        Some(pod) => match state.pending.remove(&pod) {
                            Some(status) => {
                                state.writing.insert(pod.clone(), ());
                                break Some((pod, status));
                            }
                            // Forgotten, or coalesced into a write already done.
                            None => continue,
                        },
                        None => break None,
                    }
                }
            };
            let Some((pod, status)) = next else {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = self.wake.notified() => continue,
                }
            };
            let permit = tokio::select! {
                () = shutdown.cancelled() => return,
                permit = in_flight.clone().acquire_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            let reporter = self.clone();
            let client = client.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _permit = permit;
                reporter.write(&client, pod, status, &shutdown).await;
            });
        }
    }

    async fn write(
        &self,
        client: &kube::Client,
        pod: PodRef,
        status: Value,
        shutdown: &CancellationToken,
    ) {
        let pods: Api<Pod> = Api::namespaced(client.clone(), &pod.namespace);
        let patch = Patch::Merge(json!({"status": status}));
        let mut delay = RETRY_BASE;
        let written = loop {
            match pods
                .patch_status(&pod.name, &PatchParams::default(), &patch)
                .await
            {
                Ok(_) => break true,
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    tracing::debug!(pod = %pod.name, code = e.code, "pod gone; status dropped");
                    break false;
                }
                Err(e) => {
                    tracing::debug!(pod = %pod.name, error = %e, "status write failed; retrying");
                    if matches!(&e, kube::Error::Api(e) if e.code == 429) {
                        delay = delay.max(OVERLOAD_WAIT);
                    }
                    // A newer status replaces this one rather than being written after it.
                    if self.lock().pending.contains_key(&pod) {
                        break false;
                    }
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                    delay = (delay * 2).min(RETRY_MAX);
                }
            }
        };
        let mut state = self.lock();
        state.writing.remove(&pod);
        if written {
            state.written.insert(pod.clone(), hash(&status));
        }
        if state.pending.contains_key(&pod) {
            state.queue.push_back(pod);
            drop(state);
            self.wake.notify_one();
        }
    }
}

fn hash(value: &Value) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.to_string().hash(&mut hasher);
    hasher.finish()
}
