//! The ServiceAccount controller, as Kubernetes' `serviceaccount-controller`: every active
//! namespace has a ServiceAccount named `default` — created when the namespace appears,
//! and again if it is deleted. Pods that name no ServiceAccount run as it.
//!
//! Keyed by namespace name: a namespace's changes queue it, and so does a change to a
//! `default` ServiceAccount.

use crate::apiserver::error::ApiError;
use crate::controllers::pods::is_deleting;
use crate::machinery::client::Client;
use crate::machinery::context::Context;
use crate::machinery::controller::{Action, Controller, Reconciler};
use crate::machinery::informer::Informer;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The ServiceAccount every namespace has.
pub const DEFAULT: &str = "default";
/// Namespaces handled at once.
pub const WORKERS: usize = 2;

/// A create that failed; the namespace is retried with backoff.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the default ServiceAccount of namespace {namespace}: {message}")]
pub struct Error {
    namespace: String,
    message: String,
}

/// The controller, built and not yet running.
pub struct ServiceAccountController {
    controller: Controller<String>,
    shared: Arc<Shared>,
}

struct Shared {
    namespaces: Informer<Namespace>,
    accounts: Informer<ServiceAccount>,
    client: Client,
}

impl ServiceAccountController {
    /// Builds the controller, watching namespaces and ServiceAccounts.
    pub fn new(ctx: &Context) -> Self {
        let informers = &ctx.informers;
        let controller = Controller::new("serviceaccount", WORKERS)
            .watches(&informers.namespaces, |change| Some(change.key.to_string()))
            .watches(&informers.service_accounts, |change| {
                let account = change.object();
                (account.metadata.name.as_deref() == Some(DEFAULT))
                    .then(|| account.metadata.namespace.clone())
                    .flatten()
            });
        let shared = Arc::new(Shared {
            namespaces: informers.namespaces.clone(),
            accounts: informers.service_accounts.clone(),
            client: ctx.client("service-account-controller"),
        });
        Self { controller, shared }
    }

    /// Keeps the default ServiceAccounts until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        self.controller.run(self.shared, shutdown).await;
    }
}

impl Reconciler for Shared {
    type Key = String;
    type Error = Error;

    async fn reconcile(&self, namespace: &String) -> Result<Action, Error> {
        let Some(ns) = self.namespaces.get(namespace) else {
            return Ok(Action::await_change());
        };
        if is_deleting(&ns.metadata) || self.accounts.get_named(Some(namespace), DEFAULT).is_some()
        {
            return Ok(Action::await_change());
        }
        let account = ServiceAccount {
            metadata: ObjectMeta {
                name: Some(DEFAULT.to_string()),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            ..ServiceAccount::default()
        };
        match self.client.create(&account).await {
            Ok(_) => Ok(Action::await_change()),
            // Already there, or the namespace is going away: nothing to do.
            Err(e) if matches!(e.reason, "AlreadyExists" | "NotFound" | "Forbidden") => {
                Ok(Action::await_change())
            }
            Err(e) => Err(error(namespace, &e)),
        }
    }
}

fn error(namespace: &str, e: &ApiError) -> Error {
    Error {
        namespace: namespace.to_string(),
        message: e.message.clone(),
    }
}
