//! The node's heartbeat: a `coordination.k8s.io/v1` Lease named after the node in
//! `kube-node-lease`, renewed every interval, which the node lifecycle controller reads.

use crate::{AgentConfig, Result};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use skiff_model::time::now_micro;

/// Namespace of node leases.
pub const NODE_LEASE_NAMESPACE: &str = "kube-node-lease";

/// Creates or renews the node's lease.
pub async fn renew(client: &kube::Client, config: &AgentConfig) -> Result<()> {
    let leases: Api<Lease> = Api::namespaced(client.clone(), NODE_LEASE_NAMESPACE);
    let now = now_micro();
    let duration =
        config.lease_interval.as_secs().max(1) * u64::from(crate::config::LEASE_DURATION_FACTOR);
    let spec = json!({
        "holderIdentity": config.name,
        "leaseDurationSeconds": duration,
        "renewTime": now,
    });
    if leases.get_opt(&config.name).await?.is_none() {
        let lease: Lease = serde_json::from_value(json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": config.name, "namespace": NODE_LEASE_NAMESPACE},
            "spec": spec,
        }))
        .expect("a static Lease shape");
        match leases.create(&PostParams::default(), &lease).await {
            Ok(_) => return Ok(()),
            // Created meanwhile (a restart racing itself): renew it below.
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    leases
        .patch(
            &config.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": spec})),
        )
        .await?;
    Ok(())
}
