//! Reads: get one object, list a collection (selectors, `limit`/`continue`), each as the
//! object(s) or as a Table when the client asks for one.

use super::error::{ApiError, ApiResult};
use super::path::ResourcePath;
use super::query::Query;
use super::state::{ApiState, decode, store_error};
use super::table;
use crate::store::ListOptions;
use axum::Json;
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
            &[stored.object],
            &rv,
            None,
            true,
            version,
        )));
    }
    Ok(Json(stored.object))
}

/// A page of matching objects and where the next page starts.
pub struct Page {
    /// Matching objects, `resourceVersion` set.
    pub items: Vec<Value>,
    /// The revision the listing was read at.
    pub revision: u64,
    /// Token for the next page, if any.
    pub continue_token: Option<String>,
}

/// Lists the objects of `path`'s collection that match `query`, one page at a time.
pub async fn page(state: &ApiState, path: &ResourcePath, query: &Query) -> ApiResult<Page> {
    let prefix = path.kind.key_prefix(path.namespace.as_deref());
    let mut after = match &query.continue_token {
        Some(token) => Some(decode_continue(token, &prefix)?),
        None => None,
    };
    let mut items = Vec::new();
    let mut revision;
    loop {
        let options = ListOptions {
            after: after.clone(),
            limit: query.limit,
        };
        let list = state
            .store
            .list_page(&prefix, &options)
            .await
            .map_err(store_error)?;
        revision = list.revision;
        for kv in &list.items {
            after = Some(kv.key.clone());
            let stored = decode(kv)?;
            if query.matches(path.kind, &stored.object) {
                items.push(stored.object);
            }
        }
        let full = query.limit != 0 && items.len() >= query.limit;
        if !list.more {
            return Ok(Page {
                items,
                revision,
                continue_token: None,
            });
        }
        if full {
            let token = after.as_deref().map(encode_continue);
            return Ok(Page {
                items,
                revision,
                continue_token: token,
            });
        }
    }
}

/// `GET` of a collection.
pub async fn list(
    state: &ApiState,
    path: &ResourcePath,
    query: &Query,
    accept: Option<&str>,
) -> ApiResult<Json<Value>> {
    let page = page(state, path, query).await?;
    let rv = page.revision.to_string();
    if table::wants_table(accept) {
        let version = table::table_version(accept.unwrap_or(""));
        return Ok(Json(table::table(
            path.kind.kind,
            &page.items,
            &rv,
            page.continue_token.as_deref(),
            true,
            version,
        )));
    }
    let mut metadata = json!({"resourceVersion": rv});
    if let Some(token) = &page.continue_token {
        metadata["continue"] = json!(token);
    }
    Ok(Json(json!({
        "kind": format!("{}List", path.kind.kind),
        "apiVersion": path.kind.api_version(),
        "metadata": metadata,
        "items": page.items,
    })))
}

fn encode_continue(key: &str) -> String {
    hex::encode(key.as_bytes())
}

fn decode_continue(token: &str, prefix: &str) -> ApiResult<String> {
    let key = hex::decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|key| key.starts_with(prefix))
        .ok_or_else(|| ApiError::bad_request(format!("invalid continue token {token:?}")))?;
    Ok(key)
}
