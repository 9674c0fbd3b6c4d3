//! Skiff's control plane: the Kubernetes-compatible API server, its storage, the watch cache,
//! the scheduler and the controllers.
//!
//! Parts so far:
//! - [`store`]: the revisioned key-value store (etcd/kine style) that holds every API object,
//!   with `metadata.resourceVersion` being the store revision. [`store::RedbStore`] is the
//!   durable embedded implementation; [`store::MemoryStore`] an in-memory one for tests.

pub mod store;
