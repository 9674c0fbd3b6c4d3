//! ServiceAccount admission, as Kubernetes' plugin of that name, on a server that issues
//! ServiceAccount tokens: a new pod that names no ServiceAccount runs as `default`
//! (`spec.serviceAccountName`, and the deprecated `spec.serviceAccount` kept equal), and
//! the ServiceAccount it names must exist — else `403 Forbidden`, `error looking up service
//! account NS/NAME: serviceaccount "NAME" not found`. A namespace's `default` account is
//! made by a controller just after the namespace: a pod created in that moment waits for
//! it, up to [`DEFAULT_WAIT`].

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::ApiState;
use serde_json::{Value, json};
use skiff_model::kinds::find;
use std::time::Duration;

/// How long a pod waits for its namespace's `default` ServiceAccount to be made.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(2);
const DEFAULT: &str = "default";

/// Admits a new pod of `namespace`.
pub async fn admit_pod(state: &ApiState, namespace: &str, pod: &mut Value) -> ApiResult<()> {
    if state.authenticator.service_accounts().is_none() {
        return Ok(());
    }
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let named = spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .or_else(|| {
            spec.get("serviceAccount")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
        })
        .unwrap_or(DEFAULT)
        .to_string();
    spec.insert("serviceAccountName".into(), json!(named));
    spec.insert("serviceAccount".into(), json!(named));
    let accounts = find("", "v1", "serviceaccounts")
        .ok_or_else(|| ApiError::internal("no serviceaccounts kind"))?;
    let key = accounts.key(Some(namespace), &named);
    let deadline = tokio::time::Instant::now() + DEFAULT_WAIT;
    loop {
        let found = state
            .store
            .get(&key)
            .await
            .map_err(|e| ApiError::internal(format!("looking up a service account: {e}")))?;
        if found.is_some() {
            return Ok(());
        }
        if named != DEFAULT || tokio::time::Instant::now() >= deadline {
            let pod_name = pod
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Err(ApiError::forbidden(format!(
                "pods \"{pod_name}\" is forbidden: error looking up service account {namespace}/{named}: serviceaccount \"{named}\" not found"
            ))
            .with_details("", "pods", pod_name));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
