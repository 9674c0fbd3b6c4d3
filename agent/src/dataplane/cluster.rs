//! Following the cluster for the data plane ([`follow`]): reflectors over every Service,
//! EndpointSlice and Node keep in-memory stores current; each change (and each change of
//! the pods this node sees ready) wakes one builder that makes a fresh routing table from
//! the stores and publishes it. Changes that arrive
//! while a table is being built are folded into the next build, so a burst of endpoint
//! updates (a Deployment scaling up) costs a few builds, not one per event; after a build
//! that took long (a table of thousands of pods) the next waits three times as long, so
//! building never takes more than a quarter of a core.

use super::shared::Core;
use super::table::ClusterObjects;
use crate::watched::drop_managed_fields;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Keeps `core`'s routing table current with the cluster until `shutdown`.
pub(crate) async fn follow(client: Client, core: Arc<Core>, shutdown: CancellationToken) {
    let changed = Arc::new(Notify::new());
    let services = reflect::<Service>(Api::all(client.clone()), &changed, &shutdown);
    let slices = reflect::<EndpointSlice>(Api::all(client.clone()), &changed, &shutdown);
    let nodes = reflect::<Node>(Api::all(client), &changed, &shutdown);

    // A table from a partial view would send traffic nowhere (Services without their
    // endpoints): wait until every kind has been listed once.
    let listed = async {
        let _ = services.wait_until_ready().await;
        let _ = slices.wait_until_ready().await;
        let _ = nodes.wait_until_ready().await;
    };
    tokio::select! {
        () = shutdown.cancelled() => return,
        () = listed => {}
    }
    loop {
        let started = Instant::now();
        core.rebuild(&ClusterObjects {
            services: services.state(),
            slices: slices.state(),
            nodes: nodes.state(),
        });
        let spent = started.elapsed();
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = changed.notified() => {}
            () = core.ready.changed() => {}
        }
        // Changes that come while a large table is rebuilt wait a little, so that a burst of
        // them (thousands of pods turning ready) is one rebuild per pause, not one each.
        if spent > REBUILD_FREE {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(spent * REBUILD_PAUSE_FACTOR) => {}
            }
        }
    }
}

/// A rebuild shorter than this is redone at once on the next change (a small cluster's
/// table takes microseconds, and held requests wait on it).
const REBUILD_FREE: Duration = Duration::from_micros(250);

/// After a longer rebuild, the next waits this many times as long: rebuilding takes at most
/// a quarter of a core however fast the changes come.
const REBUILD_PAUSE_FACTOR: u32 = 3;

/// Starts a reflector of every `K`, waking `changed` after each change; returns its store.
fn reflect<K>(api: Api<K>, changed: &Arc<Notify>, shutdown: &CancellationToken) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    let changed = changed.clone();
    let shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut stream = Box::pin(reflector::reflector(
            writer,
            watcher(api, watcher::Config::default())
                .modify(drop_managed_fields)
                .default_backoff(),
        ));
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => return,
                event = stream.next() => event,
            };
            match event {
                Some(Ok(watcher::Event::Init | watcher::Event::InitApply(_))) => {}
                Some(Ok(_)) => changed.notify_one(),
                Some(Err(error)) => {
                    tracing::warn!(kind = K::kind(&()).as_ref(), %error, "watch failed; retrying");
                }
                None => {
                    // The watcher retries errors forever; an end is unexpected. The store
                    // keeps what it last saw.
                    tracing::error!(kind = K::kind(&()).as_ref(), "watch ended");
                    return;
                }
            }
        }
    });
    store
}
