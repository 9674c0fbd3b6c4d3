//! One pod's worker: prepares its volumes, runs its init containers in order and then its
//! containers side by side, follows updates of the pod object (deletion, a shorter grace
//! period), ends it at `activeDeadlineSeconds`, refreshes configMap and secret volumes when
//! their sources change, and finally confirms the pod's deletion to the API server once
//! every container has stopped.

use super::container::{self, Which, restart::Restart};
use super::context::Context;
use super::grace::grace_of;
use super::record::{ContainerPhase, PodFailure};
use super::shared::PodShared;
use super::status::Phase;
use super::volume::PodVolumes;
use crate::pods::backoff::Backoff;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, Preconditions};
use skiff_model::events::EventType;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;

/// What the worker is told to run: which containers (re-adopted pods skip those that
/// already finished for good).
pub struct Plan {
    /// Whether each init container still has to run, in spec order.
    pub init: Vec<bool>,
    /// Whether each container has to run, in spec order.
    pub containers: Vec<bool>,
    /// Whether the pod was already terminal: nothing runs, nothing is reported.
    pub terminal: bool,
}

/// Runs a pod until it is deleted (its `updates` sender is dropped, or its deletion is
/// confirmed). `finished` is called once nothing of the pod runs any more (it stopped
/// being a load on the node), before the worker waits for the pod's deletion.
pub async fn run(
    ctx: Arc<Context>,
    pod: Arc<PodShared>,
    plan: Plan,
    mut updates: watch::Receiver<Arc<Pod>>,
    finished: impl FnOnce(),
) {
    let mut finished = Some(finished);
    let mut sources = ctx.sources.changes();
    let deadline = active_deadline(&pod);
    let main = run_pod(ctx.clone(), pod.clone(), plan.init, plan.containers);
    tokio::pin!(main);
    let mut done = plan.terminal;
    if !done {
        pod.update(&ctx, |_| {});
    }
    let mut deleting = observe(&pod, &updates.borrow_and_update().clone());
    loop {
        if done && let Some(finished) = finished.take() {
            finished();
        }
        if done && deleting {
            // Boxed, as the other rare branches: a worker idles at its `select!` for the
            // pod's whole life, and its future is laid out for its largest await point.
            Box::pin(confirm_deletion(&ctx, &pod, &mut updates)).await;
            return;
        }
        let until_deadline = async {
            match deadline {
                Some(at) => {
                    tokio::time::sleep(at.duration_since(SystemTime::now()).unwrap_or_default())
                        .await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut main, if !done => done = true,
            changed = updates.changed() => {
                if changed.is_err() {
                    // The pod is gone from the API: stop everything now.
                    pod.stop(Duration::ZERO);
                    if !done {
                        (&mut main).await;
                    }
                    return;
                }
                let latest = updates.borrow_and_update().clone();
                pod.set_pod(latest.clone());
                deleting |= observe(&pod, &latest);
            }
            () = until_deadline, if !done && !pod.stop.is_cancelled() => {
                let seconds = pod.pod().spec.as_ref().and_then(|s| s.active_deadline_seconds).unwrap_or(0);
                pod.event(&ctx, None, EventType::Normal, "DeadlineExceeded",
                    format!("Pod was active on the node longer than the specified deadline ({seconds}s)"));
                pod.update(&ctx, |r| r.failure = Some(PodFailure {
                    reason: "DeadlineExceeded",
                    message: "Pod was active on the node longer than the specified deadline".into(),
                }));
                pod.stop(grace_of(&pod.pod()));
            }
            change = sources.recv(), if !done => {
                let Some(volumes) = pod.volumes.get() else { continue };
                let relevant = match &change {
                    Ok(source) => volumes.uses(source),
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => false,
                };
                if relevant {
                    for name in volumes.refresh(&ctx.sources) {
                        tracing::debug!(pod = %pod.key.name, volume = %name, "volume refreshed");
                    }
                }
            }
        }
    }
}

/// Reacts to a new version of the pod object: a deletion starts the stop. Returns whether
/// the pod is being deleted.
fn observe(pod: &PodShared, latest: &Pod) -> bool {
    let deleting = latest.metadata.deletion_timestamp.is_some();
    if deleting {
        let grace = latest.metadata.deletion_grace_period_seconds.map_or_else(
            || grace_of(latest),
            |s| Duration::from_secs(s.max(0).unsigned_abs()),
        );
        if !pod.stop.is_cancelled() {
            tracing::debug!(pod = %pod.key.name, ?grace, "pod deleted; stopping");
        }
        pod.stop(grace);
    }
    deleting
}

/// When `activeDeadlineSeconds` runs out, counted from the pod's start time.
fn active_deadline(pod: &PodShared) -> Option<SystemTime> {
    let seconds = pod.pod().spec.as_ref()?.active_deadline_seconds?;
    let start = pod.read(|r| r.start_time)?;
    Some(start + Duration::from_secs(seconds.max(0).unsigned_abs()))
}

/// Volumes, then init containers in order, then containers side by side, until all end.
async fn run_pod(ctx: Arc<Context>, pod: Arc<PodShared>, init: Vec<bool>, containers: Vec<bool>) {
    if !Box::pin(prepare_volumes(&ctx, &pod)).await {
        return;
    }
    let the_pod = pod.pod();
    let Some(spec) = the_pod.spec.as_ref() else {
        return;
    };
    let restart = Restart::of(spec.restart_policy.as_deref());
    for (i, _) in spec
        .init_containers
        .iter()
        .flatten()
        .zip(&init)
        .enumerate()
        .filter(|(_, (_, run))| **run)
    {
        if !Box::pin(container::run(
            ctx.clone(),
            pod.clone(),
            the_pod.clone(),
            Which::Init(i),
            restart.for_init(),
        ))
        .await
        {
            // Failed for good (restartPolicy Never), or the pod is stopping.
            return;
        }
    }
    let mut running = JoinSet::new();
    for (i, _) in spec
        .containers
        .iter()
        .zip(&containers)
        .enumerate()
        .filter(|(_, (_, run))| **run)
    {
        running.spawn(container::run(
            ctx.clone(),
            pod.clone(),
            the_pod.clone(),
            Which::App(i),
            restart,
        ));
    }
    while running.join_next().await.is_some() {}
}

/// Prepares the pod's volumes, retrying with backoff; false if the pod stopped first.
async fn prepare_volumes(ctx: &Context, pod: &PodShared) -> bool {
    ctx.sources.ready().await;
    let mut backoff = Backoff::new(ctx.config.backoff);
    loop {
        let the_pod = pod.pod();
        match PodVolumes::prepare(
            &the_pod,
            &pod.dir,
            &ctx.sources,
            &ctx.config.host_path_allow,
        ) {
            Ok(volumes) => {
                let _ = pod.volumes.set(volumes);
                return true;
            }
            Err(e) => {
                let message = e.to_string();
                pod.event(
                    ctx,
                    None,
                    EventType::Warning,
                    "FailedMount",
                    message.clone(),
                );
                pod.update(ctx, |r| {
                    for c in r.init.iter_mut().chain(r.containers.iter_mut()) {
                        c.phase = ContainerPhase::Waiting {
                            reason: "ContainerCreating",
                            message: Some(message.clone()),
                        };
                    }
                });
                tokio::select! {
                    () = pod.stop.cancelled() => return false,
                    () = tokio::time::sleep(backoff.delay(Duration::ZERO)) => {}
                }
            }
        }
    }
}

/// Deletes the pod object for good (grace 0, this pod's UID only) now that nothing of it
/// runs, as the kubelet does; retried until it succeeds or the pod is gone.
async fn confirm_deletion(ctx: &Context, pod: &PodShared, updates: &mut watch::Receiver<Arc<Pod>>) {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &pod.key.namespace);
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: Some(pod.key.uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let mut delay = Duration::from_millis(100);
    loop {
        match pods.delete(&pod.key.name, &params).await {
            Ok(_) => return,
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => return,
            Err(e) => {
                tracing::debug!(pod = %pod.key.name, error = %e, "cannot confirm deletion; retrying")
            }
        }
        tokio::select! {
            changed = updates.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Whether a pod the API reports in `phase` has nothing left to run.
pub fn is_terminal(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .and_then(Phase::parse)
        .is_some_and(Phase::is_terminal)
}
