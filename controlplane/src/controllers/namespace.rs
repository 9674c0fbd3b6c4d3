//! The namespace controller (after Kubernetes' `pkg/controller/namespace`): empties a
//! namespace being deleted, then lets it go.
//!
//! Deleting a namespace only marks it: `deletionTimestamp` set, `status.phase:
//! Terminating`, and nothing new may be created in it. This controller then deletes every
//! object in it, of every namespaced kind (workload controllers before pods, so nothing is
//! recreated meanwhile; pods on nodes gracefully, so they go when their agents confirm or
//! their grace runs out), reports progress in the namespace's conditions
//! (`NamespaceContentRemaining`, `NamespaceFinalizersRemaining`,
//! `NamespaceDeletionContentFailure`...), and once nothing is left removes its
//! `kubernetes` finalizer from `spec.finalizers` — upon which the API server deletes the
//! namespace for good.

use crate::apiserver::error::ApiError;
use crate::machinery::client::{Client, DeleteParams, Propagation};
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::Informer;
use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition, NamespaceSpec, NamespaceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::Value;
use skiff_model::kinds::{ResourceKind, stored_kinds};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The finalizer in `spec.finalizers` that is this controller's.
pub const FINALIZER: &str = "kubernetes";

/// How often a namespace whose content is still going is looked at again (besides every
/// pod deletion in it).
pub const RECHECK: Duration = Duration::from_secs(1);

/// Namespaces emptied at once.
const WORKERS: usize = 2;

/// The name the controller writes as.
const COMPONENT: &str = "namespace-controller";

/// A failure to empty a namespace; retried with backoff.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} namespace {namespace}: {source}")]
pub struct Error {
    /// What was being done.
    action: &'static str,
    /// The namespace.
    namespace: String,
    /// The API's answer.
    #[source]
    source: ApiError,
}

/// The namespace controller.
pub struct NamespaceController {
    controller: Controller<String>,
    inner: Arc<Inner>,
}

struct Inner {
    namespaces: Informer<Namespace>,
    client: Client,
}

/// What is left in a namespace after a round of deletions.
#[derive(Debug, Default)]
struct Remaining {
    /// Objects left, by `plural.group`.
    objects: BTreeMap<String, usize>,
    /// Objects left holding each finalizer.
    finalizers: BTreeMap<String, usize>,
    /// Deletions that failed.
    failures: Vec<String>,
}

impl NamespaceController {
    /// Builds the controller, watching namespaces and pods.
    pub fn new(ctx: &Context) -> Self {
        let namespaces = ctx.informers.namespaces.clone();
        let controller = Controller::new("namespace", WORKERS)
            .watches(&ctx.informers.namespaces, |change| {
                change
                    .new
                    .is_some_and(|ns| ns.metadata.deletion_timestamp.is_some())
                    .then(|| change.key.to_string())
            })
            .watches(&ctx.informers.pods, move |change| {
                let pod = change.old.filter(|_| change.new.is_none())?;
                let ns = pod.metadata.namespace.as_deref()?;
                namespaces
                    .get(ns)
                    .is_some_and(|n| n.metadata.deletion_timestamp.is_some())
                    .then(|| ns.to_string())
            });
        let inner = Arc::new(Inner {
            namespaces: ctx.informers.namespaces.clone(),
            client: ctx.client(COMPONENT),
        });
        Self { controller, inner }
    }

    /// Empties deleted namespaces until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.inner, shutdown).await;
    }
}

impl Reconciler for Inner {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, name: &String) -> Result<Action, Error> {
        self.sync(name).await
    }
}

impl Inner {
    async fn sync(&self, name: &str) -> Result<Action, Error> {
        let Some(namespace) = self.namespaces.get(name) else {
            return Ok(Action::await_change());
        };
        let ours = namespace
            .spec
            .as_ref()
            .and_then(|s| s.finalizers.as_ref())
            .is_some_and(|f| f.iter().any(|f| f == FINALIZER));
        if namespace.metadata.deletion_timestamp.is_none() || !ours {
            return Ok(Action::await_change());
        }
        let remaining = self.delete_contents(name).await;
        self.report(name, &namespace, &remaining).await?;
        if !remaining.objects.is_empty() || !remaining.failures.is_empty() {
            return Ok(Action::requeue(RECHECK));
        }
        tracing::info!(namespace = name, "namespace empty; removing its finalizer");
        self.client
            .update::<Namespace>(None, name, |ns| {
                let spec = ns.spec.get_or_insert_with(NamespaceSpec::default);
                let finalizers = spec.finalizers.get_or_insert_with(Vec::new);
                let before = finalizers.len();
                finalizers.retain(|f| f != FINALIZER);
                // Left empty rather than absent, which defaulting would fill again.
                finalizers.len() != before
            })
            .await
            .map(|_| Action::await_change())
            .or_else(|e| {
                if e.reason == "NotFound" {
                    Ok(Action::await_change())
                } else {
                    Err(e)
                }
            })
            .map_err(|source| Error {
                action: "finalize",
                namespace: name.to_string(),
                source,
            })
    }

    /// Deletes everything in the namespace that is not being deleted yet; returns what is
    /// left.
    async fn delete_contents(&self, namespace: &str) -> Remaining {
        let mut remaining = Remaining::default();
        for kind in deletion_order() {
            let list = match self.client.list_dynamic(kind, Some(namespace)).await {
                Ok(list) => list,
                Err(e) => {
                    remaining
                        .failures
                        .push(format!("{}: {e}", kind.qualified()));
                    continue;
                }
            };
            for stored in list {
                let object = match self.delete(kind, namespace, &stored).await {
                    Ok(Some(object)) => object,
                    Ok(None) => continue,
                    Err(e) => {
                        remaining
                            .failures
                            .push(format!("{}: {}", kind.qualified(), e.message));
                        stored
                    }
                };
                *remaining.objects.entry(resource_name(kind)).or_default() += 1;
                for finalizer in object
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    *remaining
                        .finalizers
                        .entry(finalizer.to_string())
                        .or_default() += 1;
                }
            }
        }
        remaining
    }

    /// Deletes one object (unless it is being deleted already); returns it if it is still
    /// there (waiting for finalizers or its grace period).
    async fn delete(
        &self,
        kind: &'static ResourceKind,
        namespace: &str,
        object: &Value,
    ) -> Result<Option<Value>, ApiError> {
        if object.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(Some(object.clone()));
        }
        let name = skiff_model::meta::meta_str(object, "name").unwrap_or_default();
        let params = DeleteParams {
            uid: skiff_model::meta::meta_str(object, "uid").map(String::from),
            propagation: Some(Propagation::Background),
            ..DeleteParams::default()
        };
        match self
            .client
            .delete_dynamic(kind, Some(namespace), name, &params)
            .await
        {
            Ok(after) if after.pointer("/metadata/deletionTimestamp").is_some() => Ok(Some(after)),
            Ok(_) => Ok(None),
            Err(e) if e.reason == "NotFound" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes the namespace's deletion conditions, if they changed.
    async fn report(
        &self,
        name: &str,
        namespace: &Namespace,
        remaining: &Remaining,
    ) -> Result<(), Error> {
        let now = Time(skiff_model::time::now());
        let mut status = namespace.status.clone().unwrap_or_default();
        for (kind, failed, reason, message) in conditions(remaining) {
            set(&mut status, kind, failed, reason, message, &now);
        }
        if namespace.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let result = self
            .client
            .update_status::<Namespace>(None, name, |ns| {
                if ns.metadata.uid != namespace.metadata.uid {
                    return false;
                }
                let current = ns.status.get_or_insert_with(NamespaceStatus::default);
                current.conditions = status.conditions.clone();
                true
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.reason == "NotFound" => Ok(()),
            Err(source) => Err(Error {
                action: "report on",
                namespace: name.to_string(),
                source,
            }),
        }
    }
}

/// Namespaced kinds in the order their objects are deleted: everything before pods, so
/// that no controller recreates a pod meanwhile (creation is refused anyway).
fn deletion_order() -> Vec<&'static ResourceKind> {
    let (pods, mut rest): (Vec<_>, Vec<_>) = stored_kinds()
        .filter(|k| k.namespaced)
        .partition(|k| k.kind == "Pod");
    rest.extend(pods);
    rest
}

/// A kind as Kubernetes names it in these conditions: `plural.group`.
fn resource_name(kind: &ResourceKind) -> String {
    format!("{}.{}", kind.plural, kind.group)
}

/// The deletion conditions for what is left: type, whether it is `True`, reason, message.
fn conditions(remaining: &Remaining) -> Vec<(&'static str, bool, &'static str, String)> {
    let count = |map: &BTreeMap<String, usize>| {
        map.iter()
            .map(|(what, n)| format!("{what} has {n} resource instances"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let content_failure = if remaining.failures.is_empty() {
        (
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization".to_string(),
        )
    } else {
        (
            "ContentDeletionFailed",
            format!(
                "Failed to delete all resource types, {} remaining: {}",
                remaining.failures.len(),
                remaining.failures.join(", ")
            ),
        )
    };
    let content = if remaining.objects.is_empty() {
        (
            "ContentRemoved",
            "All content successfully removed".to_string(),
        )
    } else {
        (
            "SomeResourcesRemain",
            format!(
                "Some resources are remaining: {}",
                count(&remaining.objects)
            ),
        )
    };
    let finalizers = if remaining.finalizers.is_empty() {
        (
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".to_string(),
        )
    } else {
        (
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                count(&remaining.finalizers).replace(" has ", " in ")
            ),
        )
    };
    vec![
        (
            "NamespaceDeletionDiscoveryFailure",
            false,
            "ResourcesDiscovered",
            "All resources successfully discovered".to_string(),
        ),
        (
            "NamespaceDeletionGroupVersionParsingFailure",
            false,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".to_string(),
        ),
        (
            "NamespaceDeletionContentFailure",
            !remaining.failures.is_empty(),
            content_failure.0,
            content_failure.1,
        ),
        (
            "NamespaceContentRemaining",
            !remaining.objects.is_empty(),
            content.0,
            content.1,
        ),
        (
            "NamespaceFinalizersRemaining",
            !remaining.finalizers.is_empty(),
            finalizers.0,
            finalizers.1,
        ),
    ]
}

/// Sets a condition; its transition time moves only when its status does.
fn set(
    status: &mut NamespaceStatus,
    kind: &str,
    value: bool,
    reason: &str,
    message: String,
    now: &Time,
) {
    let value = if value { "True" } else { "False" };
    let conditions = status.conditions.get_or_insert_with(Vec::new);
    match conditions.iter_mut().find(|c| c.type_ == kind) {
        Some(c) => {
            if c.status != value {
                c.status = value.to_string();
                c.last_transition_time = Some(now.clone());
            }
            c.reason = Some(reason.to_string());
            c.message = Some(message);
        }
        None => conditions.push(NamespaceCondition {
            type_: kind.to_string(),
            status: value.to_string(),
            reason: Some(reason.to_string()),
            message: Some(message),
            last_transition_time: Some(now.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_deleted_last() {
        let order = deletion_order();
        assert_eq!(order.last().map(|k| k.kind), Some("Pod"));
        assert!(order.iter().any(|k| k.kind == "Job"));
        assert!(order.iter().all(|k| k.namespaced));
    }

    #[test]
    fn conditions_say_what_remains() {
        let mut remaining = Remaining::default();
        remaining.objects.insert("pods.".into(), 2);
        remaining
            .finalizers
            .insert("batch.kubernetes.io/job-tracking".into(), 1);
        let conditions = conditions(&remaining);
        let content = conditions
            .iter()
            .find(|c| c.0 == "NamespaceContentRemaining")
            .expect("content");
        assert!(content.1);
        assert_eq!(
            content.3,
            "Some resources are remaining: pods. has 2 resource instances"
        );
        let finalizers = conditions
            .iter()
            .find(|c| c.0 == "NamespaceFinalizersRemaining")
            .expect("finalizers");
        assert_eq!(
            finalizers.3,
            "Some content in the namespace has finalizers remaining: batch.kubernetes.io/job-tracking in 1 resource instances"
        );
        let empty = super::conditions(&Remaining::default());
        assert!(
            empty.iter().all(|c| !c.1),
            "nothing left: every condition False"
        );
    }
}
