//! [`Client`]: how the scheduler and the controllers write. Every write goes through the
//! API server's own write path — defaults, validation, `generation`, finalizers, graceful
//! deletion and field ownership (`managedFields` name the controller) — only without HTTP
//! in between, the way an in-process kube-controller-manager would talk to its API server.
//!
//! Objects are the `k8s-openapi` types; reads are direct gets from the (cached) store, for
//! the rare controller that needs the latest version rather than its informer's. The
//! garbage collector and the namespace controller, which handle objects of every kind,
//! use the `*_dynamic` operations: a [`ResourceKind`] and JSON instead of a type.
//!
//! This is the only module of the controller side that reaches into the API server's
//! read and write paths.

use crate::apiserver::ApiState;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::handlers::delete::{self, DeleteOptions};
use crate::apiserver::handlers::scale::scale_of;
use crate::apiserver::handlers::write;
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::Query;
use crate::apiserver::state::{decode, store_error};
use crate::authn::UserInfo;
use crate::authz::forbidden::forbidden;
use crate::authz::{Attributes, Decision};
use crate::machinery::informer::{Object, kind_of};
use k8s_openapi::Resource;
use serde::Serialize;
use serde_json::{Value, json};
use skiff_model::kinds::ResourceKind;
use skiff_model::meta;
use skiff_model::time::now_time;
use std::sync::Arc;

/// Writes objects as one named field manager, under that component's own identity
/// ([`identity`]). Cheap to clone.
#[derive(Clone)]
pub struct Client {
    state: ApiState,
    manager: &'static str,
    user: Arc<UserInfo>,
}

/// What to do with the dependents of a deleted object (`propagationPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Delete the object now; the garbage collector deletes its dependents after.
    Background,
    /// Delete the dependents first; the object stays (with the `foregroundDeletion`
    /// finalizer) until they are gone.
    Foreground,
    /// Delete the object and leave its dependents, without their owner reference to it.
    Orphan,
}

/// The finalizer an object deleted with [`Propagation::Orphan`] carries until the
/// garbage collector has orphaned its dependents.
pub const ORPHAN_FINALIZER: &str = delete::ORPHAN_FINALIZER;
/// The finalizer an object deleted with [`Propagation::Foreground`] carries until its
/// dependents are gone.
pub const FOREGROUND_FINALIZER: &str = delete::FOREGROUND_FINALIZER;

/// How to delete an object (kube's `DeleteParams`).
#[derive(Debug, Clone, Default)]
pub struct DeleteParams {
    /// Delete only the object with this UID (a same-named successor is never deleted by
    /// mistake; another UID is a 409 Conflict).
    pub uid: Option<String>,
    /// What to do with its dependents (`None`: the kind's default, background).
    pub propagation: Option<Propagation>,
    /// `gracePeriodSeconds` (`None`: the object's own).
    pub grace_period_seconds: Option<i64>,
}

impl DeleteParams {
    fn options(&self) -> DeleteOptions {
        DeleteOptions {
            uid: self.uid.clone(),
            grace_period_seconds: self.grace_period_seconds,
            propagation: self.propagation.map(|p| p.as_str().to_string()),
            ..DeleteOptions::default()
        }
    }
}

impl Client {
    /// A client writing as `manager` (shown in `managedFields`), authorized as
    /// [`identity`]`(manager)`.
    pub fn new(state: ApiState, manager: &'static str) -> Self {
        Self {
            user: Arc::new(identity(manager)),
            state,
            manager,
        }
    }

    /// The user this client acts as.
    pub fn user(&self) -> &UserInfo {
        &self.user
    }

    /// Whether this client may `verb` `path` (with the server's authorizer; a server
    /// that authenticates nobody authorizes nobody, as its HTTP side).
    fn allow(&self, verb: &str, path: &ResourcePath) -> ApiResult<()> {
        if !self.state.authenticator.is_secure() {
            return Ok(());
        }
        let attributes = Attributes::for_kind(
            verb,
            path.kind,
            path.subresource.as_deref(),
            path.namespace.as_deref(),
            path.name.as_deref(),
        );
        match self.state.authorizer.authorize(&self.user, &attributes) {
            Decision::Allow => Ok(()),
            Decision::Deny => {
                let error = forbidden(&self.user, &attributes);
                // A component without the rights its work needs is a bug in its policy.
                tracing::error!(component = self.manager, error = %error.message, "in-process write refused");
                Err(error)
            }
        }
    }

    /// The API state this client writes to.
    pub fn state(&self) -> &ApiState {
        &self.state
    }

    fn query(&self) -> Query {
        Query {
            field_manager: Some(self.manager.to_string()),
            user: Some(self.user.clone()),
            ..Query::default()
        }
    }

    /// The path of an object (or, without `name`, its collection) of `kind`; a
    /// namespace is dropped for cluster-scoped kinds.
    fn path(
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: Option<&str>,
        subresource: Option<&str>,
    ) -> ResourcePath {
        ResourcePath {
            kind,
            namespace: namespace.filter(|_| kind.namespaced).map(String::from),
            name: name.map(String::from),
            subresource: subresource.map(String::from),
        }
    }

    /// Creates `object` in `namespace` (its own, if `None`); returns it as stored.
    pub async fn create<K: Object + Resource + Serialize>(&self, object: &K) -> ApiResult<K> {
        let namespace = object.metadata().namespace.clone();
        let mut value = serde_json::to_value(object).map_err(ApiError::internal)?;
        value["apiVersion"] = json!(K::API_VERSION);
        value["kind"] = json!(K::KIND);
        let path = Self::path(kind_of::<K>(), namespace.as_deref(), None, None);
        self.allow("create", &path)?;
        let written = write::create(&self.state, &path, &self.query(), value).await?;
        typed(written.object)
    }

    /// The object as stored now.
    pub async fn get<K: Object + Resource>(
        &self,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<K> {
        let path = Self::path(kind_of::<K>(), namespace, Some(name), None);
        self.allow("get", &path)?;
        let stored = self.state.read(path.kind, &path.key()?, name).await?;
        typed(stored.object)
    }

    /// Changes an object: `change` gets the latest version and says whether it changed
    /// anything; an unchanged object is not written. Retried on conflicts with the latest
    /// version. Returns the object as stored.
    pub async fn update<K: Object + Resource + Serialize>(
        &self,
        namespace: Option<&str>,
        name: &str,
        change: impl FnMut(&mut K) -> bool,
    ) -> ApiResult<K> {
        self.modify(namespace, name, None, change).await
    }

    /// Changes an object's `status`, as [`update`](Self::update) changes the object.
    pub async fn update_status<K: Object + Resource + Serialize>(
        &self,
        namespace: Option<&str>,
        name: &str,
        change: impl FnMut(&mut K) -> bool,
    ) -> ApiResult<K> {
        self.modify(namespace, name, Some("status"), change).await
    }

    async fn modify<K: Object + Resource + Serialize>(
        &self,
        namespace: Option<&str>,
        name: &str,
        subresource: Option<&str>,
        mut change: impl FnMut(&mut K) -> bool,
    ) -> ApiResult<K> {
        let path = Self::path(kind_of::<K>(), namespace, Some(name), subresource);
        self.allow("update", &path)?;
        // A change that changes nothing is not written (no new revision, no watch event),
        // as Kubernetes skips no-op updates.
        let mut unchanged: Option<Value> = None;
        let written = write::modify(&self.state, &path, &self.query(), |current| {
            let mut object: K = typed(current.clone())?;
            if !change(&mut object) {
                unchanged = Some(current.clone());
                return Err(ApiError::unchanged());
            }
            let mut value = serde_json::to_value(&object).map_err(ApiError::internal)?;
            value["apiVersion"] = json!(K::API_VERSION);
            value["kind"] = json!(K::KIND);
            if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.remove("resourceVersion");
            }
            Ok(value)
        })
        .await;
        let written = match (written, unchanged) {
            (Err(e), Some(current)) if e.reason == "Unchanged" => return typed(current),
            (written, _) => written?,
        };
        typed(written.object)
    }

    /// Deletes an object, with `propagation` for its dependents and, if given, a UID
    /// precondition (so a same-named successor is never deleted by mistake).
    pub async fn delete<K: Object + Resource>(
        &self,
        namespace: Option<&str>,
        name: &str,
        uid: Option<&str>,
        propagation: Propagation,
    ) -> ApiResult<()> {
        let params = DeleteParams {
            uid: uid.map(String::from),
            propagation: Some(propagation),
            ..DeleteParams::default()
        };
        self.delete_with::<K>(namespace, name, &params).await?;
        Ok(())
    }

    /// Deletes an object at once, without the graceful period a pod bound to a node
    /// otherwise waits for its agent to confirm (`gracePeriodSeconds: 0`, as
    /// `kubectl delete --force --grace-period=0`); with a UID precondition if given.
    /// Finalizers still hold it.
    pub async fn force_delete<K: Object + Resource>(
        &self,
        namespace: Option<&str>,
        name: &str,
        uid: Option<&str>,
    ) -> ApiResult<()> {
        let params = DeleteParams {
            uid: uid.map(String::from),
            grace_period_seconds: Some(0),
            propagation: Some(Propagation::Background),
        };
        self.delete_with::<K>(namespace, name, &params).await?;
        Ok(())
    }

    /// Deletes an object as `params` say; returns what the API answers: the object as
    /// it is after (still there, being deleted, if finalizers or a grace period hold it).
    pub async fn delete_with<K: Object + Resource>(
        &self,
        namespace: Option<&str>,
        name: &str,
        params: &DeleteParams,
    ) -> ApiResult<Value> {
        self.delete_dynamic(kind_of::<K>(), namespace, name, params)
            .await
    }

    /// The object `name` of `kind` as stored now, as JSON.
    pub async fn get_dynamic(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value> {
        let path = Self::path(kind, namespace, Some(name), None);
        self.allow("get", &path)?;
        let stored = self.state.read(kind, &path.key()?, name).await?;
        Ok(stored.object)
    }

    /// The `autoscaling/v1` `Scale` of object `name` of `kind`, as `GET …/scale` answers
    /// it; 404 when the kind has no `scale` subresource.
    pub async fn get_scale(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
    ) -> ApiResult<Value> {
        let path = Self::path(kind, namespace, Some(name), Some("scale"));
        self.allow("get", &path)?;
        if !kind.has_subresource("scale") {
            return Err(ApiError::no_route(&format!("{}/scale", kind.qualified())));
        }
        let stored = self.state.read(kind, &path.key()?, name).await?;
        Ok(scale_of(&stored.object))
    }

    /// Every object of `kind` in `namespace` as stored now, as JSON (objects that cannot
    /// be decoded are left out): for the rare controller that must see every kind,
    /// including those no informer holds.
    pub async fn list_dynamic(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
    ) -> ApiResult<Vec<Value>> {
        self.allow("list", &Self::path(kind, namespace, None, None))?;
        let list = self
            .state
            .store
            .list(&kind.key_prefix(namespace))
            .await
            .map_err(store_error)?;
        Ok(list
            .items
            .iter()
            .filter_map(|kv| decode(kv).ok())
            .map(|stored| stored.object)
            .collect())
    }

    /// Changes an object of `kind`: `change` gets the latest version and returns the
    /// next one (or an error, which ends the update). Retried on conflicts with the latest
    /// version. Returns the object as stored.
    pub async fn update_dynamic(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
        change: impl FnMut(&Value) -> ApiResult<Value>,
    ) -> ApiResult<Value> {
        let path = Self::path(kind, namespace, Some(name), None);
        self.allow("update", &path)?;
        let written = write::modify(&self.state, &path, &self.query(), change).await?;
        Ok(written.object)
    }

    /// Sets the replicas of a scalable object of `kind` through its `scale` subresource,
    /// as `kubectl scale` and the autoscalers do. Returns the object as stored.
    pub async fn scale(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
        replicas: u32,
    ) -> ApiResult<Value> {
        let path = Self::path(kind, namespace, Some(name), None);
        self.allow(
            "update",
            &Self::path(kind, namespace, Some(name), Some("scale")),
        )?;
        let desired = json!({"spec": {"replicas": replicas}});
        let written = write::modify(&self.state, &path, &self.query(), |current| {
            crate::apiserver::handlers::scale::apply_scale(current, &desired)
        })
        .await?;
        Ok(written.object)
    }

    /// Deletes an object of `kind` as `params` say; returns what the API answers, as
    /// [`delete_with`](Self::delete_with).
    pub async fn delete_dynamic(
        &self,
        kind: &'static ResourceKind,
        namespace: Option<&str>,
        name: &str,
        params: &DeleteParams,
    ) -> ApiResult<Value> {
        let path = Self::path(kind, namespace, Some(name), None);
        self.allow("delete", &path)?;
        delete::delete(&self.state, &path, &self.query(), &params.options()).await
    }

    /// Removes a stored pod that is still at `revision`, without the API's delete path
    /// (no admission, no grace period, no finalizer check): for a pod whose graceful
    /// deletion has run out, as Kubernetes' storage removes it. Returns whether it was
    /// removed: a pod that changed or went meanwhile is left (the caller looks again).
    pub async fn remove_expired_pod(
        &self,
        namespace: &str,
        name: &str,
        revision: u64,
    ) -> ApiResult<bool> {
        let kind = kind_of::<k8s_openapi::api::core::v1::Pod>();
        self.allow(
            "delete",
            &Self::path(kind, Some(namespace), Some(name), None),
        )?;
        let key = kind.key(Some(namespace), name);
        match self.state.store.delete(&key, Some(revision)).await {
            Ok(_) => Ok(true),
            Err(crate::store::Error::Conflict { .. } | crate::store::Error::NotFound { .. }) => {
                Ok(false)
            }
            Err(e) => Err(store_error(e)),
        }
    }

    /// Binds a pending pod to `node`, as the `binding` subresource does: sets
    /// `spec.nodeName` and the `PodScheduled` condition. Fails with 409 if the pod is
    /// already bound, is being deleted, or is no longer the pod with `uid`.
    ///
    /// Like Kubernetes' binding storage (a `GuaranteedUpdate` of the pod), this changes
    /// the stored pod directly — read, check, set the two fields, write under the read
    /// revision, again on a conflict — without re-running the pod's admission or
    /// recording field ownership: a binding changes nothing a user wrote. It is the
    /// scheduler's hot path; a burst of pods is a burst of these.
    pub async fn bind(&self, namespace: &str, name: &str, uid: &str, node: &str) -> ApiResult<()> {
        let path = ResourcePath {
            kind: kind_of::<k8s_openapi::api::core::v1::Pod>(),
            namespace: Some(namespace.to_string()),
            name: Some(name.to_string()),
            subresource: Some("binding".to_string()),
        };
        self.allow("create", &path)?;
        let key = path.key()?;
        let binding = json!({"metadata": {"name": name, "uid": uid}, "target": {"kind": "Node", "name": node}});
        let conflict = |why: &str| ApiError::conflict("pods/binding", name, why);
        for _ in 0..BIND_RETRIES {
            let current = self.state.read(path.kind, &key, name).await?;
            if meta::meta_str(&current.object, "uid") != Some(uid) {
                return Err(conflict(&format!(
                    "pod {name} was replaced (its UID is no longer {uid})"
                )));
            }
            if current
                .object
                .pointer("/metadata/deletionTimestamp")
                .is_some()
            {
                return Err(conflict(&format!(
                    "pod {name} is being deleted, cannot be assigned to a host"
                )));
            }
            let next = crate::apiserver::handlers::binding::bind(&path, &current.object, &binding)?;
            let bytes = crate::apiserver::state::encode(&next)?;
            match self.state.store.update(&key, bytes, current.revision).await {
                Ok(_) => return Ok(()),
                Err(crate::store::Error::Conflict { .. }) => continue,
                Err(crate::store::Error::NotFound { .. }) => {
                    return Err(ApiError::not_found("pods", name));
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(conflict("the pod kept changing; please try again"))
    }

    /// Binds `pod` — the caller's cached copy of a pending pod, e.g. its informer's — to
    /// `node`, as [`bind`](Self::bind) does. The write is tried first against the copy's
    /// `resourceVersion`, as Kubernetes' `GuaranteedUpdate` tries a cached existing object
    /// first: no read, no waiting for the cache to catch up. Only if the copy was stale is
    /// the stored pod read, by [`bind`](Self::bind).
    ///
    /// The copy is written back as the stored object it mirrors: stored pods are exactly
    /// what their type can hold, since admission round-trips every object through it. It
    /// must therefore be a whole copy (an informer that trimmed `managedFields` from its
    /// objects could not use this).
    pub async fn bind_cached(
        &self,
        pod: &k8s_openapi::api::core::v1::Pod,
        node: &str,
    ) -> ApiResult<()> {
        let meta = &pod.metadata;
        let namespace = meta.namespace.as_deref().unwrap_or_default();
        let name = meta.name.as_deref().unwrap_or_default();
        let uid = meta.uid.as_deref().unwrap_or_default();
        let revision = meta
            .resource_version
            .as_deref()
            .and_then(|rv| rv.parse::<u64>().ok());
        let unbound = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_none_or(str::is_empty);
        if let Some(revision) = revision.filter(|_| unbound && meta.deletion_timestamp.is_none()) {
            let kind = kind_of::<k8s_openapi::api::core::v1::Pod>();
            self.allow(
                "create",
                &Self::path(kind, Some(namespace), Some(name), Some("binding")),
            )?;
            let key = kind.key(Some(namespace), name);
            let mut next = pod.clone();
            next.metadata.resource_version = None;
            next.spec.get_or_insert_default().node_name = Some(node.to_string());
            let conditions = next
                .status
                .get_or_insert_default()
                .conditions
                .get_or_insert_default();
            conditions.retain(|c| c.type_ != "PodScheduled");
            conditions.push(k8s_openapi::api::core::v1::PodCondition {
                type_: "PodScheduled".into(),
                status: "True".into(),
                last_transition_time: Some(now_time()),
                ..Default::default()
            });
            let bytes = serde_json::to_vec(&next).map_err(ApiError::internal)?;
            match self.state.store.update(&key, bytes.into(), revision).await {
                Ok(_) => return Ok(()),
                Err(crate::store::Error::Conflict { .. }) => {}
                Err(crate::store::Error::NotFound { .. }) => {
                    return Err(ApiError::not_found("pods", name));
                }
                Err(e) => return Err(store_error(e)),
            }
        }
        self.bind(namespace, name, uid, node).await
    }
}

/// Attempts of a binding that keeps losing the race to other writers of the pod.
const BIND_RETRIES: usize = 8;

impl Propagation {
    /// The `propagationPolicy` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Background => "Background",
            Propagation::Foreground => "Foreground",
            Propagation::Orphan => "Orphan",
        }
    }
}

fn typed<K: Object + Resource>(value: Value) -> ApiResult<K> {
    serde_json::from_value(value).map_err(ApiError::internal)
}

/// The field manager of the API server's own writes (the system namespaces, the default
/// policy), which act as `system:apiserver` in `system:masters`.
pub const API_SERVER: &str = "skiff-api";

/// The identity an in-process component acts under, from its field-manager name: the
/// scheduler is `system:kube-scheduler`, the API server's own writes (`skiff-api`) are
/// `system:apiserver` in `system:masters`, and every controller is
/// `system:controller:<name>`, allowed what the default policy's role of that name grants
/// ([`crate::authz::policy::component_roles`]).
pub fn identity(manager: &str) -> UserInfo {
    match manager {
        // The scheduler writes as its scheduler name.
        "default-scheduler" => UserInfo::authenticated("system:kube-scheduler", "", Vec::new()),
        API_SERVER => UserInfo::authenticated(
            "system:apiserver",
            "",
            vec![crate::authn::user::MASTERS.to_string()],
        ),
        other => UserInfo::authenticated(format!("system:controller:{other}"), "", Vec::new()),
    }
}
