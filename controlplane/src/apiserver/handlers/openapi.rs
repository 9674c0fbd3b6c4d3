//! OpenAPI, as far as kubectl needs it: `kubectl apply/create/replace` validate by default
//! and first ask whether the server supports server-side field validation.
//!
//! - `/openapi/v3` lists one document per group-version; each document declares, for every
//!   kind, a PATCH operation that takes the `fieldValidation` parameter, so kubectl 1.29+
//!   leaves validation to the server (which does it: unknown fields under `Strict` are a
//!   400).
//! - `/openapi/v2` answers with an empty protobuf document, which kubectl 1.27–1.28 accept
//!   (they fetch it eagerly) and which tells them nothing to validate against.

use axum::Json;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use skiff_model::kinds::{KINDS, group_versions};

/// Media type of the (empty) v2 document; the dotted form is the one Go clients parse.
const OPENAPI_V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `GET /openapi/v2`.
pub async fn v2() -> Response {
    ([(CONTENT_TYPE, OPENAPI_V2_PROTOBUF)], Vec::<u8>::new()).into_response()
}

/// The `/openapi/v3` path of a group-version (`api/v1`, `apis/apps/v1`).
fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `GET /openapi/v3`.
pub async fn v3_index() -> Json<Value> {
    let mut paths = Map::new();
    for (group, version) in group_versions() {
        let path = gv_path(group, version);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash=skiff-{}", env!("CARGO_PKG_VERSION"))}),
        );
    }
    Json(json!({"paths": paths}))
}

/// `GET /openapi/v3/{api/v1 | apis/group/version}`; `None` when not served.
pub fn v3_document(path: &str) -> Option<Value> {
    let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", version] => ("", *version),
        ["apis", group, version] => (*group, *version),
        _ => return None,
    };
    let mut paths = Map::new();
    for kind in KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let object_path = if kind.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", kind.plural)
        } else {
            format!("{prefix}/{}/{{name}}", kind.plural)
        };
        paths.insert(
            object_path,
            json!({"patch": {
                "x-kubernetes-group-version-kind":
                    {"group": kind.group, "version": kind.version, "kind": kind.kind},
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                    {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
                    {"name": "force", "in": "query", "schema": {"type": "boolean"}},
                ],
                "requestBody": {"content": {
                    "application/json-patch+json": {},
                    "application/merge-patch+json": {},
                    "application/apply-patch+yaml": {},
                }},
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Skiff", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
