//! The pod manager: watches the pods bound to this node (`spec.nodeName=NODE`, through
//! the kube client's watcher, which lists, watches and re-lists after errors with backoff)
//! and keeps one worker per pod — level-triggered, so a missed event is corrected by the
//! next list. It admits new pods, hands updates to their workers, stops the workers of
//! pods deleted from the API, and removes what is left on disk of pods that no longer
//! exist (also those from before an agent restart).

use super::admit::{Admission, Allocatable};
use super::adopt;
use super::context::Context;
use super::record::PodRecord;
use super::shared::PodShared;
use super::volume;
use super::worker::{self, Plan};
use crate::dataplane::local::PodKey;
use crate::watched::drop_managed_fields;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

struct Worker {
    updates: watch::Sender<Arc<Pod>>,
}

/// Runs the node's pods until `shutdown`.
pub async fn run(ctx: Arc<Context>, allocatable: Allocatable, shutdown: CancellationToken) {
    let pods: Api<Pod> = Api::all(ctx.client.clone());
    let selector = format!("spec.nodeName={}", ctx.config.name);
    let events = watcher(pods, watcher::Config::default().fields(&selector))
        .modify(drop_managed_fields)
        .default_backoff();
    tokio::pin!(events);
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<String>();
    let mut manager = Manager {
        ctx,
        workers: HashMap::new(),
        admission: Admission::new(allocatable),
        ended: ended_tx,
        listing: None,
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            uid = ended.recv() => if let Some(uid) = uid {
                manager.admission.release(&uid);
            },
            event = events.next() => match event {
                Some(Ok(event)) => manager.handle(event),
                Some(Err(e)) => tracing::warn!(error = %e, "pod watch failed; retrying"),
                None => return,
            },
        }
    }
}

struct Manager {
    ctx: Arc<Context>,
    workers: HashMap<String, Worker>,
    admission: Admission,
    ended: mpsc::UnboundedSender<String>,
    /// UIDs seen during a (re-)list in progress.
    listing: Option<HashSet<String>>,
}

impl Manager {
    fn handle(&mut self, event: Event<Pod>) {
        match event {
            Event::Init => self.listing = Some(HashSet::new()),
            Event::InitApply(pod) => {
                if let Some(seen) = &mut self.listing {
                    seen.insert(uid(&pod));
                }
                self.apply(pod);
            }
            Event::InitDone => {
                let seen = self.listing.take().unwrap_or_default();
                let gone: Vec<String> = self
                    .workers
                    .keys()
                    .filter(|u| !seen.contains(*u))
                    .cloned()
                    .collect();
                for uid in gone {
                    self.remove(&uid);
                }
                self.remove_leftovers(&seen);
            }
            Event::Apply(pod) => self.apply(pod),
            Event::Delete(pod) => self.remove(&uid(&pod)),
        }
    }

    fn apply(&mut self, pod: Pod) {
        let uid = uid(&pod);
        let pod = Arc::new(pod);
        if let Some(worker) = self.workers.get(&uid) {
            worker.updates.send_replace(pod);
            return;
        }
        let (mut record, plan) = adopt::plan(&pod);
        if !plan.terminal
            && let Err(failure) = self.admission.admit(&uid, &pod)
        {
            tracing::info!(pod = ?pod.metadata.name, reason = failure.reason, "pod rejected");
            record.failure = Some(failure);
        }
        self.start(uid, pod, record, plan);
    }

    fn start(&mut self, uid: String, pod: Arc<Pod>, record: PodRecord, plan: Plan) {
        let ctx = self.ctx.clone();
        let shared = Arc::new(PodShared::new(&ctx, pod.clone(), record));
        let rejected = shared.read(|r| r.failure.is_some());
        let plan = if rejected {
            Plan {
                init: plan.init.iter().map(|_| false).collect(),
                containers: plan.containers.iter().map(|_| false).collect(),
                terminal: false,
            }
        } else {
            plan
        };
        let (updates, receiver) = watch::channel(pod);
        self.workers.insert(uid.clone(), Worker { updates });
        let ended = self.ended.clone();
        let released = self.ended.clone();
        let released_uid = uid.clone();
        tokio::spawn(async move {
            let finished = move || {
                let _ = released.send(released_uid);
            };
            worker::run(ctx.clone(), shared.clone(), plan, receiver, finished).await;
            ctx.reporter.forget(&shared.key);
            let key = PodKey {
                namespace: shared.key.namespace.clone(),
                name: shared.key.name.clone(),
            };
            ctx.dataplane.ready.forget(&key, &shared.key.uid);
            ctx.stats.remove(&shared.key.uid);
            ctx.logs.remove_pod(&shared.key.uid);
            if let Err(e) = volume::remove(&shared.dir) {
                tracing::warn!(pod = %shared.key.name, error = %e, "cannot remove the pod directory");
            }
            let _ = ended.send(uid);
        });
    }

    /// The pod is gone from the API: its worker stops everything and cleans up.
    fn remove(&mut self, uid: &str) {
        // Dropping the sender tells the worker.
        self.workers.remove(uid);
    }

    /// Removes pod directories and logs of pods that are not bound here any more.
    fn remove_leftovers(&self, current: &HashSet<String>) {
        for key in self.ctx.logs.pods_on_disk() {
            if !current.contains(&key.uid) {
                self.ctx.logs.remove_pod(&key.uid);
            }
        }
        let Ok(entries) = std::fs::read_dir(self.ctx.config.pods_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !current.contains(&name) {
                tracing::info!(uid = %name, "removing what is left of a pod no longer on this node");
                if let Err(e) = volume::remove(&entry.path()) {
                    tracing::warn!(uid = %name, error = %e, "cannot remove a leftover pod directory");
                }
            }
        }
    }
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}
