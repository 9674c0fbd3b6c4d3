//! Skiff's control plane: the Kubernetes-compatible API server, its storage, the watch cache,
//! the scheduler and the controllers.
//!
//! Parts, from the request's way in to the components behind it:
//! - [`apiserver`]: the Kubernetes-compatible HTTP API, laid out as a request's path —
//!   router, filters (authentication, authorization), request decoding, admission
//!   (defaults, validation, allocation), handlers per verb, server-side apply, codecs
//!   (JSON, protobuf, tables) — and [`ApiState`], the store and object access its handlers
//!   share.
//! - [`authn`] and [`authz`]: who sent a request (client certificate, bearer token,
//!   anonymous) and whether they may (`system:masters`, then RBAC with Kubernetes'
//!   default policy), what the API server's filters ask.
//! - [`store`]: the revisioned key-value store (etcd/kine style) that holds every API object,
//!   with `metadata.resourceVersion` being the store revision. [`store::RedbStore`] is the
//!   durable embedded implementation; [`store::MemoryStore`] an in-memory one for tests.
//! - [`watchcache`]: the watch cache, [`watchcache::CachedStore`], a [`store::Store`] that
//!   serves reads and watches of API objects from memory, kept in step with the store by
//!   one watch.
//! - [`module_store`]: the content-addressed wasm modules on disk that the API serves at
//!   `/skiff/v1/modules/`.
//! - [`machinery`]: the controller machinery — informers, the in-process client, events,
//!   the work queue and the one controller runner — that the [`scheduler`] and the
//!   [`controllers`] are built from; [`manager`] builds and starts them all.
//! - [`metrics`]: the agents' live figures in memory (stats streams → windowed rates) for
//!   `kubectl top` and the autoscalers, and the demand for Services at zero.
//! - [`agents`]: where the control plane reaches a node's agent.
//! - [`bootstrap`]: start-up setup (the system namespaces, the default RBAC policy, the
//!   admin kubeconfig); [`certificates`]: the cluster CA and the API server's certificates
//!   in the data directory.
//!
//! The Kubernetes vocabulary (kinds, selectors, quantities, times, events) is
//! `skiff-model`'s.
//!
//! [`ApiState`]: apiserver::ApiState

pub mod agents;
pub mod apiserver;
pub mod authn;
pub mod authz;
pub mod bootstrap;
pub mod certificates;
pub mod controllers;
pub mod machinery;
pub mod manager;
pub mod metrics;
pub mod module_store;
pub mod scheduler;
pub mod store;
pub mod watchcache;
