//! Telling the control plane that requests wait for a Service: the [`Activate`] seam and
//! its real implementation, [`KubeActivate`], which posts an
//! [`Activation`](skiff_model::activation::Activation) to the API server and reads who
//! scales the Service from the answer.

use futures::future::BoxFuture;
use http::header::CONTENT_TYPE;
use skiff_model::activation::{self, Activation};

/// Why an activation call failed.
#[derive(Debug, thiserror::Error)]
pub enum ActivateError {
    /// The activation could not be encoded.
    #[error("cannot encode the activation")]
    Encode(#[source] serde_json::Error),
    /// The request could not be built.
    #[error("cannot build the activation request")]
    Request(#[source] http::Error),
    /// The API server refused it or could not be reached.
    #[error("the API server did not take the activation")]
    Api(#[source] kube::Error),
}

/// Tells the control plane that requests wait for a Service with no ready endpoint.
pub trait Activate: Send + Sync + 'static {
    /// Reports `held` requests waiting for Service `namespace/service`; answers the
    /// workloads scaled from zero for it (`Kind/name`), empty when nobody scales it.
    fn activate(
        &self,
        namespace: &str,
        service: &str,
        held: u32,
    ) -> BoxFuture<'static, Result<Vec<String>, ActivateError>>;
}

/// Posts activations to the API server as node `node`.
pub struct KubeActivate {
    client: kube::Client,
    node: String,
}

impl KubeActivate {
    /// Activations from `node` through `client`.
    pub fn new(client: kube::Client, node: impl Into<String>) -> Self {
        Self {
            client,
            node: node.into(),
        }
    }
}

impl Activate for KubeActivate {
    fn activate(
        &self,
        namespace: &str,
        service: &str,
        held: u32,
    ) -> BoxFuture<'static, Result<Vec<String>, ActivateError>> {
        let client = self.client.clone();
        let activation = Activation::new(namespace, service, &self.node, held);
        let path = activation::path(namespace);
        Box::pin(async move {
            let body = serde_json::to_vec(&activation).map_err(ActivateError::Encode)?;
            let request = http::Request::post(path)
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .map_err(ActivateError::Request)?;
            let answer: Activation = client.request(request).await.map_err(ActivateError::Api)?;
            Ok(answer.status.map(|s| s.targets).unwrap_or_default())
        })
    }
}
