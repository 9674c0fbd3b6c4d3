//! The `token` subresource of ServiceAccounts (TokenRequest, `kubectl create token`):
//! `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` answers `201` with a signed
//! ServiceAccount token, as kube-apiserver does — for the audiences asked (the API's own
//! by default), for `expirationSeconds` (an hour by default, at least ten minutes), and,
//! when `boundObjectRef` names a pod, bound to that pod so that deleting it revokes the
//! token. Nothing is stored.

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::request::body;
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::state::ApiState;
use crate::authn::service_account::{Binding, Claims, ISSUER, ObjectRef, USER_PREFIX};
use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use skiff_model::field::FieldCause;
use skiff_model::kinds::find;
use std::time::{Duration, SystemTime};

/// A token's lifetime when the request names none (Kubernetes' default).
pub const DEFAULT_EXPIRATION: i64 = 3600;
/// The shortest lifetime that may be asked for.
pub const MIN_EXPIRATION: i64 = 600;
/// The longest.
pub const MAX_EXPIRATION: i64 = 1 << 32;

/// `POST` to a ServiceAccount's `token` subresource.
pub async fn token(
    state: &ApiState,
    target: &ResourcePath,
    headers: &HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let Some(accounts) = state.authenticator.service_accounts() else {
        return Err(
            ApiError::not_found("serviceaccounts/token", "").with_details(
                "",
                "serviceaccounts",
                target.name.as_deref().unwrap_or_default(),
            ),
        );
    };
    let name = target.require_name()?.to_string();
    let namespace = target.namespace.clone().unwrap_or_default();
    let account = state.read(target.kind, &target.key()?, &name).await?.object;
    let request = body::read_object(headers, body).await?;
    let spec = request.get("spec").cloned().unwrap_or(json!({}));
    let invalid = |field: &str, message: String| {
        ApiError::invalid(
            "TokenRequest.authentication.k8s.io",
            &name,
            vec![FieldCause {
                kind: "FieldValueInvalid",
                field: field.to_string(),
                message,
            }],
        )
    };
    let audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| a.as_str().map(str::to_string))
                .collect()
        })
        .filter(|list: &Vec<String>| !list.is_empty())
        .unwrap_or_else(|| vec![ISSUER.to_string()]);
    let seconds = spec
        .get("expirationSeconds")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_EXPIRATION);
    if seconds < MIN_EXPIRATION {
        return Err(invalid(
            "spec.expirationSeconds",
            format!("Invalid value: {seconds}: may not specify a duration less than 10 minutes"),
        ));
    }
    if seconds > MAX_EXPIRATION {
        return Err(invalid(
            "spec.expirationSeconds",
            format!(
                "Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
            ),
        ));
    }
    let bound = spec.get("boundObjectRef").filter(|b| b.is_object());
    let pod = match bound {
        None => None,
        Some(reference) => Some(bound_pod(state, &namespace, reference, &invalid).await?),
    };
    let now = SystemTime::now();
    let epoch = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    };
    let expires = now + Duration::from_secs(seconds.unsigned_abs());
    let claims = Claims {
        iss: ISSUER.to_string(),
        sub: format!("{USER_PREFIX}{namespace}:{name}"),
        aud: audiences.clone(),
        exp: epoch(expires),
        iat: epoch(now),
        nbf: epoch(now),
        jti: uuid::Uuid::new_v4().to_string(),
        kubernetes: Binding {
            namespace: namespace.clone(),
            serviceaccount: ObjectRef {
                name: name.clone(),
                uid: uid_of(&account),
            },
            pod,
        },
    };
    let token = accounts
        .tokens
        .issue(&claims)
        .map_err(|e| ApiError::internal(format!("cannot sign a token: {e}")))?;
    let mut answered_spec = spec.clone();
    answered_spec["audiences"] = json!(audiences);
    answered_spec["expirationSeconds"] = json!(seconds);
    let answer = json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": skiff_model::time::rfc3339(now),
        },
        "spec": answered_spec,
        "status": {
            "token": token,
            "expirationTimestamp": skiff_model::time::rfc3339(expires),
        },
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The pod a `boundObjectRef` names, which must exist (with its uid, if one is given).
async fn bound_pod(
    state: &ApiState,
    namespace: &str,
    reference: &Value,
    invalid: &impl Fn(&str, String) -> ApiError,
) -> ApiResult<ObjectRef> {
    let text = |key: &str| reference.get(key).and_then(Value::as_str).unwrap_or("");
    if text("kind") != "Pod" {
        return Err(invalid(
            "spec.boundObjectRef.kind",
            format!(
                "Unsupported value: {:?}: supported values: \"Pod\"",
                text("kind")
            ),
        ));
    }
    let pods = find("", "v1", "pods").ok_or_else(|| ApiError::internal("no pods kind"))?;
    let name = text("name");
    let pod = state
        .read(pods, &pods.key(Some(namespace), name), name)
        .await?
        .object;
    let uid = uid_of(&pod);
    if !text("uid").is_empty() && text("uid") != uid {
        return Err(ApiError::conflict(
            "pods",
            name,
            &format!(
                "the UID in the bound object reference ({}) does not match the UID in record. The object might have been deleted and then recreated",
                text("uid")
            ),
        ));
    }
    Ok(ObjectRef {
        name: name.to_string(),
        uid,
    })
}

fn uid_of(object: &Value) -> String {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
