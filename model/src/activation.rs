//! `Activation` (`autoscaling.skiff.dev/v1alpha1`): how an agent holding requests for a
//! Service with no ready endpoint tells the control plane at once. Create-only and never
//! stored, like Kubernetes' TokenReview: the API server hands it to the request-driven
//! autoscaler, which scales the Service's Deployments from zero, and answers with who
//! scales the Service — nobody means the agent stops holding and answers 503.
//!
//! `POST /apis/autoscaling.skiff.dev/v1alpha1/namespaces/{namespace}/activations` with an
//! [`Activation`] whose `spec` names the Service; the answer (201) is the same object with
//! its `status` filled.

use serde::{Deserialize, Serialize};

/// The API group.
pub const GROUP: &str = "autoscaling.skiff.dev";
/// The version.
pub const VERSION: &str = "v1alpha1";
/// `GROUP/VERSION`.
pub const API_VERSION: &str = "autoscaling.skiff.dev/v1alpha1";
/// The kind.
pub const KIND: &str = "Activation";
/// The resource name.
pub const PLURAL: &str = "activations";

/// The path to post an activation of a Service in `namespace` to.
pub fn path(namespace: &str) -> String {
    format!("/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}")
}

/// An activation request and its answer.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    /// [`API_VERSION`].
    pub api_version: String,
    /// [`KIND`].
    pub kind: String,
    /// Only `namespace` is read (the path's wins).
    #[serde(default)]
    pub metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    /// What is asked.
    pub spec: ActivationSpec,
    /// The answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ActivationStatus>,
}

/// The Service with requests waiting.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActivationSpec {
    /// The Service's name (in the activation's namespace).
    pub service: String,
    /// Requests the asking agent holds for it now.
    #[serde(default)]
    pub held: u32,
    /// The asking agent's node.
    #[serde(default)]
    pub node: String,
}

/// Who scales the Service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActivationStatus {
    /// The workloads scaled from zero for the Service, as `Kind/name` (e.g.
    /// `Deployment/web`); empty when no autoscaler scales it, and then holding is pointless.
    #[serde(default)]
    pub targets: Vec<String>,
}

impl Activation {
    /// An activation of `service` in `namespace`, asked by `node` holding `held` requests.
    pub fn new(namespace: &str, service: &str, node: &str, held: u32) -> Self {
        Self {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                namespace: Some(namespace.into()),
                ..Default::default()
            },
            spec: ActivationSpec {
                service: service.into(),
                held,
                node: node.into(),
            },
            status: None,
        }
    }
}
