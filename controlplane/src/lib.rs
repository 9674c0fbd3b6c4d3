//! Skiff's control plane: the Kubernetes-compatible API server, its storage, the watch cache,
//! the scheduler and the controllers.
//!
//! Parts:
//! - [`apiserver`]: the Kubernetes-compatible HTTP API, laid out as a request's path
//!   (router, filters, request decoding, admission, handlers, encodings), and [`ApiState`],
//!   the store and object access its handlers share.
//! - [`store`]: the revisioned key-value store (etcd/kine style) that holds every API object,
//!   with `metadata.resourceVersion` being the store revision. [`store::RedbStore`] is the
//!   durable embedded implementation; [`store::MemoryStore`] an in-memory one for tests.
//! - [`cache`]: the watch cache, [`cache::CachedStore`], a [`store::Store`] that serves reads
//!   and watches of API objects from memory, kept in step with the store by one watch.
//! - [`machinery`]: the controller machinery — informers, the in-process client, events,
//!   the work queue and the one controller runner — that [`scheduler`] and
//!   [`controllers`] are built from; [`manager`] builds and starts them all.

pub mod apiserver;
pub mod bootstrap;
pub mod cache;
pub mod controllers;
pub mod machinery;
pub mod manager;
pub mod module_store;
pub mod objects;
pub mod scheduler;
pub mod store;
