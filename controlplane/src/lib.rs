//! Skiff's control plane: the Kubernetes-compatible API server, its storage, the watch cache,
//! the scheduler and the controllers.
//!
//! Parts so far:
//! - [`store`]: the revisioned key-value store (etcd/kine style) that holds every API object,
//!   with `metadata.resourceVersion` being the store revision. [`store::RedbStore`] is the
//!   durable embedded implementation; [`store::MemoryStore`] an in-memory one for tests.
//! - [`cache`]: the watch cache, [`cache::CachedStore`], a [`store::Store`] that serves reads
//!   and watches of API objects from memory, kept in step with the store by one watch.

pub mod api;
pub mod bootstrap;
pub mod cache;
pub mod client;
pub mod controllers;
pub mod events;
pub mod grace;
pub mod informer;
pub mod manager;
pub mod modules;
pub mod objects;
pub mod scheduler;
pub mod store;
pub mod workqueue;
