//! [`ApiState`]: what every handler shares — the store, the module store when the
//! server keeps one, the Service [`Allocator`], the live metrics and the demand hub, the
//! authenticator and authorizer — and
//! the typed object access on top of it: read an object with its `resourceVersion`, write
//! one back under an optimistic precondition, and map store errors to API errors.

use crate::apiserver::admission::allocate::allocator::Allocator;
use crate::apiserver::error::ApiError;
use crate::apiserver::filters::inflight::InFlight;
use crate::apiserver::lifecycle;
use crate::authn::Authenticator;
use crate::authz::Authorizer;
use crate::metrics::{Collector, DemandHub};
use crate::module_store::ModuleStore;
use crate::store::{Error as StoreError, KeyValue, Store};
use bytes::Bytes;
use serde_json::Value;
use skiff_model::kinds::ResourceKind;
use skiff_model::meta;
use std::sync::Arc;

/// Shared state of the API server.
#[derive(Clone)]
pub struct ApiState {
    /// The store every object lives in.
    pub store: Arc<dyn Store>,
    /// The wasm modules served at `/skiff/v1/modules/`; `None` answers those with 503.
    pub modules: Option<Arc<ModuleStore>>,
    /// Serializes the allocation of Services' cluster IPs and nodePorts.
    pub allocator: Arc<Allocator>,
    /// The agents' live figures, for the metrics APIs and the autoscalers.
    pub metrics: Arc<Collector>,
    /// Activations of Services at zero, and who scales them.
    pub demand: Arc<DemandHub>,
    /// Seats for requests in flight (`--max-requests-inflight` and its mutating twin).
    pub inflight: Arc<InFlight>,
    /// Who sent a request (unsecured, everyone a master, unless the server sets one up).
    pub authenticator: Arc<Authenticator>,
    /// Whether they may (the privileged group only, unless the server sets up RBAC).
    pub authorizer: Arc<Authorizer>,
}

/// An object as stored, with the revision it was last written at.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The object, `metadata.resourceVersion` set.
    pub object: Value,
    /// Its modification revision.
    pub revision: u64,
}

impl ApiState {
    /// Wraps a store, without a module store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            modules: None,
            allocator: Arc::new(Allocator::default()),
            metrics: Arc::default(),
            demand: Arc::default(),
            inflight: Arc::default(),
            authenticator: Arc::default(),
            authorizer: Arc::default(),
        }
    }

    /// Serves `modules` at `/skiff/v1/modules/`.
    pub fn with_modules(mut self, modules: Arc<ModuleStore>) -> Self {
        self.modules = Some(modules);
        self
    }

    /// Reads the object at `key`, or 404.
    pub async fn read(
        &self,
        kind: &ResourceKind,
        key: &str,
        name: &str,
    ) -> Result<Stored, ApiError> {
        match self.store.get(key).await.map_err(store_error)? {
            Some(kv) => decode(&kv),
            None => Err(ApiError::not_found(&kind.qualified(), name).with_details(
                kind.group,
                kind.plural,
                name,
            )),
        }
    }

    /// Creates an object; 409 if it exists.
    pub async fn create(
        &self,
        kind: &ResourceKind,
        key: &str,
        object: &Value,
    ) -> Result<Stored, ApiError> {
        let name = meta::meta_str(object, "name")
            .unwrap_or_default()
            .to_string();
        match self.store.create(key, encode(object)?).await {
            Ok(kv) => decode(&kv),
            Err(StoreError::AlreadyExists { .. }) => Err(ApiError::already_exists(
                &kind.qualified(),
                &name,
            )
            .with_details(kind.group, kind.plural, &name)),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Replaces an object written at `expected` revision; 409 if it changed since.
    pub async fn update(
        &self,
        kind: &ResourceKind,
        key: &str,
        object: &Value,
        expected: u64,
    ) -> Result<Stored, ApiError> {
        let name = meta::meta_str(object, "name")
            .unwrap_or_default()
            .to_string();
        match self.store.update(key, encode(object)?, expected).await {
            Ok(kv) => decode(&kv),
            Err(StoreError::Conflict { .. }) => Err(ApiError::conflict(
                &kind.qualified(),
                &name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )),
            Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&kind.qualified(), &name)),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Deletes an object written at `expected` revision (any, if `None`).
    pub async fn remove(
        &self,
        kind: &ResourceKind,
        key: &str,
        name: &str,
        expected: Option<u64>,
    ) -> Result<Stored, ApiError> {
        match self.store.delete(key, expected).await {
            Ok(deleted) => {
                let mut stored = decode(&deleted.kv)?;
                lifecycle::set_resource_version(&mut stored.object, deleted.revision);
                stored.revision = deleted.revision;
                Ok(stored)
            }
            Err(StoreError::NotFound { .. }) => Err(ApiError::not_found(&kind.qualified(), name)),
            Err(StoreError::Conflict { .. }) => Err(ApiError::conflict(
                &kind.qualified(),
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )),
            Err(e) => Err(store_error(e)),
        }
    }
}

/// Serializes an object for storage, without its `resourceVersion` (the revision is).
pub fn encode(object: &Value) -> Result<Bytes, ApiError> {
    let mut object = object.clone();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    serde_json::to_vec(&object)
        .map(Bytes::from)
        .map_err(ApiError::internal)
}

/// Reads a stored object and sets its `resourceVersion`.
pub fn decode(kv: &KeyValue) -> Result<Stored, ApiError> {
    let mut object: Value = serde_json::from_slice(&kv.value).map_err(ApiError::internal)?;
    lifecycle::set_resource_version(&mut object, kv.mod_revision);
    Ok(Stored {
        object,
        revision: kv.mod_revision,
    })
}

/// Maps a store failure that is not a precondition to an API error.
pub fn store_error(error: StoreError) -> ApiError {
    match error {
        StoreError::Compacted {
            requested,
            compacted,
        } => ApiError::expired(format!(
            "too old resource version: {requested} ({compacted})"
        )),
        StoreError::FutureRevision { requested, current } => ApiError::timeout(format!(
            "Too large resource version: {requested}, current: {current}"
        )),
        other => ApiError::internal(other),
    }
}
