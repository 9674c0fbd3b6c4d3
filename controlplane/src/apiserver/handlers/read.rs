//! Reads: get one object, list a collection (selectors, `limit`/`continue`), each as the
//! object(s) or as a Table when the client asks for one.

use crate::apiserver::codec::table;
use crate::apiserver::conversion;
use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::request::continuation::{self, Continue};
use crate::apiserver::request::path::ResourcePath;
use crate::apiserver::request::query::Query;
use crate::apiserver::state::{ApiState, decode, store_error};
use crate::store::{Error as StoreError, KeyValue, ListOptions};
use axum::Json;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// `GET` of one object.
pub async fn get(
    state: &ApiState,
    path: &ResourcePath,
    accept: Option<&str>,
) -> ApiResult<Json<Value>> {
    let name = path.require_name()?;
    let stored = state.read(path.kind, &path.key()?, name).await?;
    if table::wants_table(accept) {
        let version = table::table_version(accept.unwrap_or(""));
        let rv = stored.revision.to_string();
        return Ok(Json(table::table(
            path.kind.kind,
            [stored.object],
            &rv,
            None,
            true,
            version,
        )));
    }
    Ok(Json(conversion::from_storage(path.kind, stored.object)))
}

/// A page of matching objects, as stored, and where the next page starts.
pub struct RawPage {
    /// Matching objects as stored (without `resourceVersion`; it is their `mod_revision`).
    pub items: Vec<KeyValue>,
    /// The revision the listing was read at.
    pub revision: u64,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
}

/// A page of matching objects as JSON values, `resourceVersion` set.
pub struct Page {
    /// Matching objects.
    pub items: Vec<Value>,
    /// The revision the listing was read at.
    pub revision: u64,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
}

/// Lists the objects of `path`'s collection that match `query`, one page at a time,
/// without decoding them unless a selector needs to look inside.
pub async fn raw_page(state: &ApiState, path: &ResourcePath, query: &Query) -> ApiResult<RawPage> {
    let prefix = path.kind.key_prefix(path.namespace.as_deref());
    // A continued list reads every page at its first page's revision.
    let (mut after, mut revision) = match &query.continue_token {
        Some(token) => {
            if query
                .resource_version
                .as_deref()
                .is_some_and(|rv| !rv.is_empty() && rv != "0")
            {
                return Err(ApiError::bad_request(
                    "specifying resource version is not allowed when using continue",
                ));
            }
            let next = Continue::decode(token, &prefix)?;
            (Some(next.after), next.revision)
        }
        None => (None, 0),
    };
    let select = !query.labels.is_empty() || !query.fields.is_empty();
    let mut items = Vec::new();
    loop {
        let options = ListOptions {
            after: after.clone(),
            limit: query.limit,
            revision,
        };
        let list = state
            .store
            .list_page(&prefix, &options)
            .await
            .map_err(|error| match error {
                StoreError::Compacted { .. } if revision != 0 => continuation::expired(),
                error => store_error(error),
            })?;
        revision = list.revision;
        for kv in list.items {
            after = Some(kv.key.clone());
            if !select || query.matches(path.kind, &decode(&kv)?.object) {
                items.push(kv);
            }
        }
        let full = query.limit != 0 && items.len() >= query.limit;
        if !list.more || full {
            let continue_token = match (&after, list.more) {
                (Some(after), true) => Some(
                    Continue {
                        revision,
                        after: after.clone(),
                    }
                    .encode(&prefix),
                ),
                _ => None,
            };
            return Ok(RawPage {
                items,
                revision,
                continue_token,
            });
        }
    }
}

/// [`raw_page`], decoded, as stored (in the storage version).
pub async fn page(state: &ApiState, path: &ResourcePath, query: &Query) -> ApiResult<Page> {
    let raw = raw_page(state, path, query).await?;
    Ok(Page {
        items: raw
            .items
            .iter()
            .map(|kv| decode(kv).map(|s| s.object))
            .collect::<ApiResult<_>>()?,
        revision: raw.revision,
        continue_token: raw.continue_token,
    })
}

/// `GET` of a collection. The JSON list is assembled from the stored bytes (only the
/// `resourceVersion` is spliced into each), so listing a large collection costs a copy,
/// not a parse and re-serialization per object.
pub async fn list(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    accept: Option<&str>,
) -> ApiResult<Response> {
    let raw = raw_page(state, path, query).await?;
    let rv = raw.revision.to_string();
    if table::wants_table(accept) {
        let version = table::table_version(accept.unwrap_or(""));
        let mut failed = None;
        let objects = raw.items.iter().filter_map(|kv| match decode(kv) {
            Ok(stored) => Some(stored.object),
            Err(e) => {
                failed.get_or_insert(e);
                None
            }
        });
        let table = table::table(
            path.kind.kind,
            objects,
            &rv,
            raw.continue_token.as_deref(),
            true,
            version,
        );
        if let Some(error) = failed {
            return Err(error);
        }
        return Ok(Json(table).into_response());
    }
    let mut metadata = json!({"resourceVersion": rv});
    if let Some(token) = &raw.continue_token {
        metadata["continue"] = json!(token);
    }
    let size: usize = raw.items.iter().map(|kv| kv.value.len() + 40).sum();
    let mut body = Vec::with_capacity(size + 256);
    body.extend_from_slice(b"{\"kind\":");
    body.extend_from_slice(
        json!(format!("{}List", path.kind.kind))
            .to_string()
            .as_bytes(),
    );
    body.extend_from_slice(b",\"apiVersion\":");
    body.extend_from_slice(json!(path.kind.api_version()).to_string().as_bytes());
    body.extend_from_slice(b",\"metadata\":");
    body.extend_from_slice(metadata.to_string().as_bytes());
    body.extend_from_slice(b",\"items\":[");
    let convert = conversion::converts(path.kind);
    for (i, kv) in raw.items.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        if convert {
            let object = conversion::from_storage(path.kind, decode(kv)?.object);
            serde_json::to_writer(&mut body, &object).map_err(ApiError::internal)?;
        } else {
            with_resource_version(&kv.value, kv.mod_revision, &mut body)?;
        }
    }
    body.extend_from_slice(b"]}");
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// Appends a stored object to `out` with `metadata.resourceVersion` set to `revision`.
///
/// Stored objects are serialized by this server with sorted keys and no
/// `resourceVersion`, so the object's own `"metadata":{` is the first occurrence of that
/// byte sequence (keys sorting before `metadata` hold strings or key-less objects, and a
/// quote inside a string is escaped); the revision is inserted right after it. Anything
/// else falls back to decoding the object.
fn with_resource_version(stored: &[u8], revision: u64, out: &mut Vec<u8>) -> ApiResult<()> {
    const NEEDLE: &[u8] = b"\"metadata\":{";
    match stored.windows(NEEDLE.len()).position(|w| w == NEEDLE) {
        Some(at) => {
            let split = at + NEEDLE.len();
            out.extend_from_slice(&stored[..split]);
            out.extend_from_slice(format!("\"resourceVersion\":\"{revision}\"").as_bytes());
            if stored.get(split) != Some(&b'}') {
                out.push(b',');
            }
            out.extend_from_slice(&stored[split..]);
        }
        None => {
            let mut object: Value = serde_json::from_slice(stored).map_err(ApiError::internal)?;
            crate::apiserver::lifecycle::set_resource_version(&mut object, revision);
            serde_json::to_writer(&mut *out, &object).map_err(ApiError::internal)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_version_is_spliced_into_stored_objects() {
        for object in [
            json!({"apiVersion": "v1", "data": {"metadata": "x"}, "kind": "ConfigMap",
                   "metadata": {"name": "a", "uid": "u"}, "spec": {"template": {"metadata": {}}}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}),
            json!({"apiVersion": "v1", "kind": "Event", "involvedObject": {"name": "\"metadata\":{"},
                   "metadata": {"name": "e"}}),
        ] {
            let stored = serde_json::to_vec(&object).expect("json");
            let mut out = Vec::new();
            with_resource_version(&stored, 42, &mut out).expect("splice");
            let mut expected = object.clone();
            expected["metadata"]["resourceVersion"] = json!("42");
            let got: Value = serde_json::from_slice(&out).expect("valid JSON");
            assert_eq!(got, expected);
        }
    }
}
