//! The activator role: a request for a Service port with no ready endpoint is held here
//! while the control plane scales the Service from zero, instead of failing at once
//! ([`Activator::hold`]); so is one whose endpoints were all busy (every slot and queue
//! place taken), while the Service scales up and its requests in flight end.
//!
//! The first such request of a Service starts its *driver*, a task that posts an
//! activation (through [`Activate`]) with the count held, one call at a time, and again
//! every [`REPOST_INTERVAL`] while requests are held, so a lost one is repaired. The
//! answer names who scales the Service: if nobody does (or the first call fails), the
//! held requests get 503 as without an activator, and so does every request for
//! [`REFUSAL_TTL`] after, without asking again. Otherwise they wait, each until the
//! routing table (a watch channel, so every rebuild wakes them) has a ready endpoint for
//! its Service port, and then go on to it — a request held because the endpoints were busy
//! goes on each time one of the Service's requests ends ([`ServiceStats::vacated`], one
//! held request per ending one) or the table changes, and at the latest after
//! [`BUSY_RECHECK`]; a bounded queue per Service (503 when full) and
//! a bounded wait (504) keep a Service that never comes up from piling requests up. A held
//! request is no pod's request, and holds its place in the queue only while its client
//! waits (its place is given back when the exchange is dropped).
//!
//! Parts: [`activate`] (the [`Activate`] seam and its API-server implementation).

pub mod activate;

use super::body::{ProxyBody, text};
use super::stats::{self, Key, ServiceStats};
use super::table::{PortRef, PortRoute, RouteTable};
use crate::config::ActivatorConfig;
use activate::Activate;
use http::{Request, Response, StatusCode};
use skiff_model::stats::HeldRequests;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often the activation is posted again while requests are held: a lost activation
/// (an autoscaler restarting, a dropped connection) costs at most this much delay, and the
/// autoscaler hears the held count change at this rate.
pub const REPOST_INTERVAL: Duration = Duration::from_secs(1);

/// How long "nobody scales this Service" stands before it is asked again: a Service with
/// no endpoints and no autoscaler then costs one API call a second, not one per request,
/// and an autoscaler created for it is noticed within a second.
pub const REFUSAL_TTL: Duration = Duration::from_secs(1);

/// Longest a request held because every endpoint was busy waits before it looks again,
/// when no request of its Service ended meanwhile: room can also come from requests this
/// agent does not see end (those a peer sent to the same pods).
pub const BUSY_RECHECK: Duration = Duration::from_millis(20);

/// Longest an activation call may take before it counts as failed. The API server answers
/// in milliseconds; one that does not answer in 5 s is not going to scale anything soon.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Holds requests for Services with no ready endpoint.
pub(crate) struct Activator {
    activate: Arc<dyn Activate>,
    routes: watch::Receiver<Arc<RouteTable>>,
    config: ActivatorConfig,
    shutdown: CancellationToken,
    services: Mutex<HashMap<Key, Arc<ServiceHold>>>,
}

/// One Service's held requests.
struct ServiceHold {
    key: Key,
    /// Requests held now.
    held: AtomicU32,
    /// Whether its driver runs.
    driving: AtomicBool,
    /// Until when "nobody scales it" stands; `None` while that is not known.
    refused: watch::Sender<Option<Instant>>,
}

/// Why a request is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shortage {
    /// Its Service port had no endpoint that serves.
    NoEndpoint,
    /// Its Service port's endpoints were all busy.
    Busy,
}

/// What became of a held request.
pub(crate) enum Outcome {
    /// Its Service port has a ready endpoint now: route it there.
    Released(PortRef, Request<ProxyBody>),
    /// It was answered here.
    Answered(Response<ProxyBody>),
}

/// Whether a table has a ready endpoint for a held request.
enum Readiness {
    Ready(PortRef),
    Waiting,
    Gone,
}

impl Activator {
    /// An activator telling `activate`, waking on `routes`, bounded by `config`.
    pub(crate) fn new(
        activate: Arc<dyn Activate>,
        routes: watch::Receiver<Arc<RouteTable>>,
        config: ActivatorConfig,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            activate,
            routes,
            config,
            shutdown,
            services: Mutex::default(),
        }
    }

    /// When a request held from now has waited long enough: the bound of one request's
    /// holds, however many times it is held.
    pub(crate) fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.config.timeout
    }

    /// Holds `request`, which found no endpoint of `target` to take it (`shortage` says
    /// why), until one can or `deadline` (or another bound) is reached; see the module
    /// docs. `can_take` tells whether a port's endpoints can take a request now (a local
    /// endpoint whose pod no longer serves cannot).
    pub(crate) async fn hold(
        &self,
        target: &PortRef,
        request: Request<ProxyBody>,
        shortage: Shortage,
        deadline: tokio::time::Instant,
        can_take: impl Fn(&PortRoute) -> bool,
    ) -> Outcome {
        let key = &target.service.key;
        let port = target.port().port;
        let service = self.service(key);
        let now = Instant::now();
        if service.refused.borrow().is_some_and(|until| until > now) {
            return Outcome::Answered(shortage.response(key));
        }
        let Some(place) = Place::take(&service, self.config.queue_depth) else {
            let message = format!(
                "{}, and its queue of held requests is full ({}); try again later\n",
                shortage.describe(key),
                self.config.queue_depth
            );
            return Outcome::Answered(text(StatusCode::SERVICE_UNAVAILABLE, message));
        };
        // A refusal that has run out is asked again.
        service.refused.send_if_modified(|refused| {
            let expired = refused.is_some_and(|until| until <= now);
            if expired {
                *refused = None;
            }
            expired
        });
        let mut refused = service.refused.subscribe();
        self.drive(&service);

        let busy = shortage == Shortage::Busy;
        let stats: Arc<ServiceStats> = target.service.stats.clone();
        let mut routes = self.routes.clone();
        // A request the endpoints were too busy for waits for room (or a change of the
        // routes since it was turned away) before it looks again.
        routes.mark_unchanged();
        let mut look = !busy;
        loop {
            if look {
                let readiness = readiness(&routes.borrow_and_update(), key, port, &can_take);
                match readiness {
                    Readiness::Ready(target) => {
                        drop(place);
                        return Outcome::Released(target, request);
                    }
                    Readiness::Gone => {
                        let message = format!(
                            "service {}/{} port {port} went away while the request waited\n",
                            key.0, key.1
                        );
                        return Outcome::Answered(text(StatusCode::SERVICE_UNAVAILABLE, message));
                    }
                    Readiness::Waiting => {}
                }
            }
            look = true;
            if refused.borrow_and_update().is_some() {
                return Outcome::Answered(shortage.response(key));
            }
            tokio::select! {
                changed = routes.changed() => if changed.is_err() {
                    return Outcome::Answered(shortage.response(key));
                },
                _ = refused.changed() => {}
                () = stats.vacated.notified(), if busy => {}
                () = tokio::time::sleep(BUSY_RECHECK), if busy => {}
                () = tokio::time::sleep_until(deadline) => {
                    let message = match shortage {
                        Shortage::NoEndpoint => "no ready endpoint",
                        Shortage::Busy => "no endpoint with room",
                    };
                    let message = format!(
                        "{message} for service {}/{} within {:?}\n",
                        key.0, key.1, self.config.timeout
                    );
                    return Outcome::Answered(text(StatusCode::GATEWAY_TIMEOUT, message));
                }
                () = self.shutdown.cancelled() => {
                    let message = format!(
                        "{}, and this node is shutting down\n",
                        shortage.describe(key)
                    );
                    return Outcome::Answered(text(StatusCode::SERVICE_UNAVAILABLE, message));
                }
            }
        }
    }

    /// The requests held now, by Service (those holding none left out).
    pub(crate) fn held(&self) -> Vec<HeldRequests> {
        let mut held: Vec<_> = stats::lock(&self.services)
            .values()
            .filter_map(|service| {
                let count = service.held.load(Ordering::Acquire);
                (count > 0).then(|| HeldRequests {
                    namespace: service.key.0.clone(),
                    service: service.key.1.clone(),
                    count,
                })
            })
            .collect();
        held.sort_by(|a, b| (&a.namespace, &a.service).cmp(&(&b.namespace, &b.service)));
        held
    }

    /// Forgets the Services `table` no longer has, unless requests still wait for them.
    pub(crate) fn retain(&self, table: &RouteTable) {
        stats::lock(&self.services).retain(|key, service| {
            table.service(&key.0, &key.1).is_some()
                || service.held.load(Ordering::Acquire) > 0
                || service.driving.load(Ordering::Acquire)
        });
    }

    /// The hold of Service `key`.
    fn service(&self, key: &Key) -> Arc<ServiceHold> {
        let mut services = stats::lock(&self.services);
        if let Some(service) = services.get(key) {
            return service.clone();
        }
        let service = Arc::new(ServiceHold {
            key: key.clone(),
            held: AtomicU32::new(0),
            driving: AtomicBool::new(false),
            refused: watch::Sender::new(None),
        });
        services.insert(key.clone(), service.clone());
        service
    }

    /// Starts `service`'s driver unless it runs.
    fn drive(&self, service: &Arc<ServiceHold>) {
        if service.driving.swap(true, Ordering::AcqRel) {
            return;
        }
        tokio::spawn(drive(
            service.clone(),
            self.activate.clone(),
            self.shutdown.clone(),
        ));
    }
}

/// Posts activations for `service` while it holds requests and nobody has refused them.
async fn drive(
    service: Arc<ServiceHold>,
    activate: Arc<dyn Activate>,
    shutdown: CancellationToken,
) {
    let (namespace, name) = &service.key;
    // Whether a call of this run named someone scaling the Service: later failures are
    // then retried rather than refusing requests the autoscaler is already working for.
    let mut scaled = false;
    loop {
        let held = service.held.load(Ordering::Acquire);
        if held == 0 || service.refused.borrow().is_some() {
            service.driving.store(false, Ordering::Release);
            // A request held after the check above saw the driver still running: carry
            // on for it, unless it started another driver already.
            let wanted =
                service.held.load(Ordering::Acquire) > 0 && service.refused.borrow().is_none();
            if !wanted || service.driving.swap(true, Ordering::AcqRel) {
                return;
            }
            scaled = false;
            continue;
        }
        let call = tokio::time::timeout(CALL_TIMEOUT, activate.activate(namespace, name, held));
        let answer = tokio::select! {
            () = shutdown.cancelled() => {
                service.driving.store(false, Ordering::Release);
                return;
            }
            answer = call => answer,
        };
        let answer = match answer {
            Ok(Ok(targets)) if !targets.is_empty() => Answer::Scaled(targets),
            Ok(Ok(_)) => Answer::Nobody,
            Ok(Err(error)) => Answer::Failed(error_chain(&error)),
            Err(_) => Answer::Failed(format!("no answer within {CALL_TIMEOUT:?}")),
        };
        match answer {
            Answer::Scaled(targets) => {
                tracing::debug!(namespace, service = name, held, ?targets, "activated");
                scaled = true;
            }
            Answer::Failed(error) if scaled => {
                tracing::warn!(namespace, service = name, held, %error, "activation failed; posting again");
            }
            refusal => {
                match refusal {
                    Answer::Failed(error) => {
                        tracing::warn!(namespace, service = name, %error, "activation failed; not holding requests");
                    }
                    _ => {
                        tracing::debug!(
                            namespace,
                            service = name,
                            "no autoscaler scales the Service; not holding requests"
                        );
                    }
                }
                service
                    .refused
                    .send_replace(Some(Instant::now() + REFUSAL_TTL));
                continue;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {
                service.driving.store(false, Ordering::Release);
                return;
            }
            () = tokio::time::sleep(REPOST_INTERVAL) => {}
        }
    }
}

/// What an activation call told.
enum Answer {
    /// These workloads are scaled from zero for the Service.
    Scaled(Vec<String>),
    /// Nobody scales it.
    Nobody,
    /// The call failed, for this reason.
    Failed(String),
}

/// `error` and its sources, for a log line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut why = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        why = format!("{why}: {inner}");
        source = inner.source();
    }
    why
}

/// A request's place in a Service's queue, given back when dropped.
struct Place(Arc<ServiceHold>);

impl Place {
    /// Takes a place unless `depth` are taken.
    fn take(service: &Arc<ServiceHold>, depth: u32) -> Option<Self> {
        service
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < depth).then_some(n + 1)
            })
            .ok()?;
        Some(Self(service.clone()))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether `table` has a ready endpoint for `port` of Service `key` that can take a
/// request now.
fn readiness(
    table: &RouteTable,
    key: &Key,
    port: u16,
    servable: &impl Fn(&PortRoute) -> bool,
) -> Readiness {
    let Some(service) = table.service(&key.0, &key.1) else {
        return Readiness::Gone;
    };
    let Some(index) = service.ports.iter().position(|p| p.port == port) else {
        return Readiness::Gone;
    };
    if !servable(&service.ports[index]) {
        return Readiness::Waiting;
    }
    Readiness::Ready(PortRef {
        service: service.clone(),
        index,
    })
}

impl Shortage {
    /// What kept a request for Service `key` from an endpoint, for a message.
    fn describe(self, key: &Key) -> String {
        match self {
            Shortage::NoEndpoint => format!("no ready endpoints for service {}/{}", key.0, key.1),
            Shortage::Busy => format!(
                "every endpoint of service {}/{} is busy (too many requests in flight)",
                key.0, key.1
            ),
        }
    }

    /// The 503 for a request with this shortage that is not held (no activator, or
    /// nobody scales the Service).
    pub(crate) fn response(self, key: &Key) -> Response<ProxyBody> {
        let message = match self {
            Shortage::NoEndpoint => format!("{}\n", self.describe(key)),
            Shortage::Busy => format!("{}; try again\n", self.describe(key)),
        };
        text(StatusCode::SERVICE_UNAVAILABLE, message)
    }
}

#[cfg(test)]
mod tests;
