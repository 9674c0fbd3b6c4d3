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
//! - [`module_store`]: the content-addressed store of wasm modules on disk, which the API
//!   serves at `/skiff/v1/modules/`.
//! - [`kinds`]: the resource types the API serves; [`selector`]: label and field
//!   selectors; [`objects`]: the metadata lifecycle every kind shares.
//! - [`bootstrap`]: first-start setup (the default namespaces, the admin kubeconfig).
//! - [`manager`]: the controller manager, which runs the [`scheduler`] and the
//!   [`controllers`] over shared [`informer`]s, each controller with its [`workqueue`];
//!   they write through the in-process [`client`] and record [`events`].
//! - [`grace`]: deletes pods whose graceful deletion has run out.
//!
//! [`ApiState`]: apiserver::ApiState

pub mod apiserver;
pub mod bootstrap;
pub mod cache;
pub mod client;
pub mod controllers;
pub mod events;
pub mod grace;
pub mod informer;
pub mod manager;
pub mod module_store;
pub mod objects;
pub mod scheduler;
pub mod store;
pub mod workqueue;
