//! The controllers: each keeps one kind of declared state true, level-triggered and
//! idempotent, in its own module. Each is built from the machinery's
//! [`Context`](crate::machinery::context::Context) and holds its reconcile logic; the
//! wiring — which informer changes queue which keys, the work queue, the workers, retries
//! and shutdown — is the machinery's [`Controller`](crate::machinery::controller::Controller)
//! runner. Every write goes through the in-process
//! [`Client`](crate::machinery::client::Client).
//!
//! Queue-driven: [`deployment`], [`replicaset`], [`job`], [`gc`] (the garbage collector),
//! [`hpa`] (the HorizontalPodAutoscaler, with a periodic sweep besides),
//! [`clusterrole_aggregation`] (the rules of `admin`, `edit`, `view` and any aggregated
//! ClusterRole), [`serviceaccount`] (each namespace's `default` ServiceAccount),
//! [`namespace`], [`endpoints`], [`endpointslice`], [`servicelb`], [`podgc`] (with a
//! periodic sweep besides), [`kpa`] (the request-driven autoscaler, with a tick and a
//! wake-up on activation besides) and [`nodelifecycle`]'s taint eviction. Periodic loops:
//! [`nodelifecycle`]'s node health monitor and [`podgrace`] (expiring graceful
//! deletions). Shared helpers: `pods` (ownership, expectations, ranking of pods) and
//! `backends` (the pods behind a Service).

pub(crate) mod backends;
pub mod clusterrole_aggregation;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod gc;
pub mod hpa;
pub mod job;
pub mod kpa;
pub mod namespace;
pub mod nodelifecycle;
pub mod nodestats;
pub mod podgc;
pub mod podgrace;
pub(crate) mod pods;
pub mod replicaset;
pub mod serviceaccount;
pub mod servicelb;
