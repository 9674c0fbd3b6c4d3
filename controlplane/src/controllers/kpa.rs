//! The request-driven autoscaler with scale to zero: Knative's KPA on plain Deployments.
//! A Deployment opts in with `autoscaling.knative.dev/class: kpa.autoscaling.knative.dev`
//! (on itself or its pod template) and is then scaled from the data plane's request
//! figures — the concurrency (or request rate) of its ready pods plus the requests agents
//! hold for its Services — through its `scale` subresource. HorizontalPodAutoscalers are
//! not looked at: an HPA on an opted-in Deployment is reported by the HPA controller.
//!
//! Every opted-in Deployment is evaluated each tick ([`Config::tick`]) and at once when an
//! agent activates one of its Services (through the [`DemandHub`](crate::metrics::DemandHub),
//! to which the autoscaler publishes which Services it scales from zero). An evaluation
//! writes only when the replicas change, with a Normal event; bad annotations found at
//! runtime get a Warning event and the Deployment is left as it is.
//!
//! Parts: [`annotations`] and [`config`] (what is asked, cluster defaults), [`window`] (the windowed averages), [`scaler`] (Knative's
//! decision), [`bounds`] (min/max/initial scale, scale to zero, activation), [`track`] (one
//! Deployment's memory and evaluation), [`workload`] (its pods and Services), [`figures`]
//! (the data plane's figures, a seam for tests).

pub mod annotations;
pub mod bounds;
pub mod config;
pub mod figures;
pub mod scaler;
pub mod track;
pub mod window;
pub mod workload;

use crate::apiserver::error::ApiError;
use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::{Informer, kind_of, split_key};
use crate::machinery::workqueue::WorkQueue;
use crate::metrics::DemandHub;
use annotations::{Annotations, Metric};
use config::Config;
use figures::Figures;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Pod, Service};
use skiff_model::events::{Involved, Recorder};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use track::{Step, Tracked, Why};

/// Deployments evaluated at once.
pub const WORKERS: usize = 2;

/// The name the autoscaler writes and records events as.
pub const COMPONENT: &str = "kpa-autoscaler";

/// What an evaluation can fail at; the key is retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scale write failed.
    #[error("cannot scale Deployment {deployment} to {replicas}: {message}")]
    Scale {
        /// The Deployment's key.
        deployment: String,
        /// The replicas asked for.
        replicas: u32,
        /// The API's answer.
        message: String,
    },
}

/// The autoscaler, built and not yet running.
pub struct KpaController {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

struct Shared {
    deployments: Informer<Deployment>,
    replicasets: Informer<ReplicaSet>,
    pods: Informer<Pod>,
    services: Informer<Service>,
    figures: Arc<dyn Figures>,
    hub: Arc<DemandHub>,
    client: Client,
    events: Recorder,
    config: Config,
    queue: WorkQueue<String>,
    memory: Mutex<Memory>,
}

/// What the workers remember between evaluations.
#[derive(Default)]
struct Memory {
    /// Opted-in Deployments, by key.
    tracked: HashMap<String, Tracked>,
    /// Keys evaluated each tick.
    managed: HashSet<String>,
    /// Requests held at agents, from activations not yet evaluated.
    activations: HashMap<String, u32>,
    /// The last annotation problems warned about, so each is said once.
    warned: HashMap<String, String>,
}

impl KpaController {
    /// Builds the autoscaler over the collector's figures.
    pub fn new(ctx: &Context) -> Self {
        Self::with_figures(ctx, ctx.state.metrics.clone())
    }

    /// Builds the autoscaler over `figures` (the collector's, or a test's).
    pub fn with_figures(ctx: &Context, figures: Arc<dyn Figures>) -> Self {
        let informers = &ctx.informers;
        let controller = Controller::new("kpa", WORKERS).watches(&informers.deployments, |c| {
            let unchanged = c
                .old
                .zip(c.new)
                .is_some_and(|(o, n)| o.metadata.resource_version == n.metadata.resource_version);
            (!unchanged).then(|| c.key.to_string())
        });
        let shared = Arc::new(Shared {
            deployments: informers.deployments.clone(),
            replicasets: informers.replicasets.clone(),
            pods: informers.pods.clone(),
            services: informers.services.clone(),
            figures,
            hub: ctx.state.demand.clone(),
            client: ctx.client(COMPONENT),
            events: ctx.events.component(COMPONENT),
            config: ctx.config.autoscaler.clone(),
            queue: controller.queue(),
            memory: Mutex::default(),
        });
        Self { controller, shared }
    }

    /// Scales opted-in Deployments until `shutdown`: each tick, and on each activation.
    pub async fn run(self, shutdown: CancellationToken) {
        let shared = self.shared.clone();
        let mut activations = shared.hub.subscribe();
        let wake = shutdown.clone();
        let woken = shared.clone();
        tokio::spawn(async move {
            loop {
                let demand = tokio::select! {
                    () = wake.cancelled() => return,
                    demand = activations.recv() => match demand {
                        Some(demand) => demand,
                        None => return,
                    },
                };
                woken.activated(&demand.namespace, &demand.service, demand.held);
            }
        });
        let ticker = shutdown.clone();
        let ticked = shared.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(ticked.config.tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = ticker.cancelled() => return,
                    _ = interval.tick() => {}
                }
                let keys: Vec<String> = ticked.memory().managed.iter().cloned().collect();
                for key in keys {
                    ticked.queue.add(key);
                }
            }
        });
        self.controller.run(self.shared, shutdown).await;
    }
}

impl Shared {
    fn memory(&self) -> std::sync::MutexGuard<'_, Memory> {
        // No section below panics midway, so a poisoned lock holds consistent state.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests are held for `namespace/service`: evaluate what scales it now.
    fn activated(&self, namespace: &str, service: &str, held: u32) {
        for target in self.hub.targets(namespace, service) {
            let Some(name) = target.strip_prefix("Deployment/") else {
                continue;
            };
            let key = format!("{namespace}/{name}");
            {
                let mut memory = self.memory();
                let pending = memory.activations.entry(key.clone()).or_default();
                *pending = (*pending).max(held.max(1));
            }
            self.queue.add(key);
        }
    }

    /// Forgets a Deployment that is gone or no longer opted in.
    fn forget(&self, key: &str) {
        let (namespace, name) = split_key(key);
        self.hub
            .withdraw(namespace.unwrap_or_default(), &format!("Deployment/{name}"));
        let mut memory = self.memory();
        memory.tracked.remove(key);
        memory.managed.remove(key);
        memory.activations.remove(key);
        memory.warned.remove(key);
    }

    /// The demand on the Deployment's ready pods, in its metric.
    fn pod_demand(&self, namespace: &str, ready: &[String], metric: Metric) -> f64 {
        ready
            .iter()
            .filter_map(|pod| self.figures.requests(namespace, pod))
            .map(|r| match metric {
                Metric::Concurrency => r.concurrency,
                Metric::Rps => r.per_second,
            })
            .sum()
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, key: &String) -> Result<Action, Error> {
        let Some(d) = self.deployments.get(key) else {
            self.forget(key);
            return Ok(Action::await_change());
        };
        let template = d
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.annotations.as_ref());
        let annotations = Annotations::new(d.metadata.annotations.as_ref(), template);
        if !annotations.opted_in() || d.metadata.deletion_timestamp.is_some() {
            self.forget(key);
            return Ok(Action::await_change());
        }
        let settings = match annotations::settings(&annotations, &self.config) {
            Ok(settings) => settings,
            Err(problems) => {
                self.forget(key);
                let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
                let text = text.join("; ");
                let mut memory = self.memory();
                if memory.warned.get(key) != Some(&text) {
                    memory.warned.insert(key.clone(), text.clone());
                    self.events.warning(
                        Involved::of::<Deployment>(&d.metadata),
                        "InvalidAnnotation",
                        format!("not autoscaled: {text}"),
                    );
                }
                return Ok(Action::await_change());
            }
        };
        let namespace = d.metadata.namespace.clone().unwrap_or_default();
        let name = d.metadata.name.clone().unwrap_or_default();
        let ready = workload::ready_pods(&d, &self.replicasets, &self.pods);
        let services = workload::services(&d, &self.services);
        self.hub
            .publish(&namespace, &format!("Deployment/{name}"), &services);
        let held_now: u32 = services
            .iter()
            .map(|s| self.figures.held(&namespace, s))
            .sum();
        let pod_demand = self.pod_demand(&namespace, &ready, settings.metric);
        let current = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1).max(0) as u32;
        let ready_count = ready.len() as u32;
        let now = tokio::time::Instant::now().into_std();
        let step = {
            let mut memory = self.memory();
            memory.managed.insert(key.clone());
            memory.warned.remove(key);
            let activation = memory.activations.remove(key).unwrap_or(0);
            let held = held_now.max(activation);
            let granularity = self.config.tick;
            let tracked = match memory.tracked.remove(key) {
                Some(t) if t.settings == settings => t,
                _ => Tracked::new(settings, ready_count, now, granularity),
            };
            let mut tracked = tracked;
            let step = tracked.step(
                pod_demand + f64::from(held),
                held,
                ready_count,
                current,
                now,
            );
            memory.tracked.insert(key.clone(), tracked);
            step
        };
        if step.replicas != current {
            self.rescale(key, &d, current, &step).await?;
        }
        Ok(match step.recheck {
            Some(delay) if delay < self.config.tick => Action::requeue(delay),
            _ => Action::await_change(),
        })
    }
}

impl Shared {
    /// Writes the new scale and says so.
    async fn rescale(
        &self,
        key: &str,
        d: &Deployment,
        current: u32,
        step: &Step,
    ) -> Result<(), Error> {
        let name = d.metadata.name.as_deref().unwrap_or_default();
        let result = self
            .client
            .scale(
                kind_of::<Deployment>(),
                d.metadata.namespace.as_deref(),
                name,
                step.replicas,
            )
            .await;
        match result {
            Ok(_) => {}
            Err(e) if e.reason == "NotFound" => return Ok(()),
            Err(e) => return Err(scale_error(key, step.replicas, &e)),
        }
        let reason = match step.why {
            Why::Stable if step.replicas > current => "stable-window demand above target".into(),
            Why::Stable => "stable-window demand below target".into(),
            Why::Panic => "panic-window demand at or above the panic threshold".into(),
            Why::Activation => "requests held for it while at zero".into(),
            Why::Bound(reason) => reason.as_str().to_string(),
        };
        tracing::info!(deployment = %key, from = current, to = step.replicas, stable = step.stable, panic = step.panic, %reason, "rescaled");
        self.events.normal(
            Involved::of::<Deployment>(&d.metadata),
            "SuccessfulRescale",
            format!("New size: {}; reason: {reason}", step.replicas),
        );
        Ok(())
    }
}

fn scale_error(key: &str, replicas: u32, e: &ApiError) -> Error {
    Error::Scale {
        deployment: key.to_string(),
        replicas,
        message: e.message.clone(),
    }
}
