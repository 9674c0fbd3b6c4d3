//! The objects figures are answered for — pods and nodes as stored, read down to their
//! metadata — and the selectors that pick them, as metrics-server takes them: any
//! `labelSelector`, and a `fieldSelector` on `metadata.name` and `metadata.namespace`
//! only (what the apiserver allows a kind without field label conversions).

use crate::apiserver::error::{ApiError, ApiResult};
use crate::apiserver::state::{ApiState, store_error};
use serde::Deserialize;
use skiff_model::kinds::ResourceKind;
use skiff_model::selector::{FieldSelector, LabelSelector};
use std::collections::{BTreeMap, HashMap};

/// An object's metadata, all the metrics APIs need of it.
#[derive(Deserialize, Debug, Default)]
pub struct Meta {
    /// Its name.
    pub name: String,
    /// Its namespace (pods).
    #[serde(default)]
    pub namespace: String,
    /// Its labels, copied into the metrics object as metrics-server does.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Object {
    metadata: Meta,
}

/// The core kind `plural` (`pods`, `nodes`).
pub fn kind(plural: &str) -> ApiResult<&'static ResourceKind> {
    skiff_model::kinds::find("", "v1", plural)
        .ok_or_else(|| ApiError::internal(format!("the {plural} resource is not registered")))
}

/// The objects of `kind` (in `namespace`, or all) that `selectors` pick, in key order.
pub async fn list(
    state: &ApiState,
    kind: &ResourceKind,
    namespace: Option<&str>,
    selectors: &Selectors,
) -> ApiResult<Vec<Meta>> {
    let listed = state
        .store
        .list(&kind.key_prefix(namespace))
        .await
        .map_err(store_error)?;
    let mut out = Vec::with_capacity(listed.items.len());
    for kv in &listed.items {
        let object: Object = serde_json::from_slice(&kv.value).map_err(ApiError::internal)?;
        if selectors.matches(&object.metadata) {
            out.push(object.metadata);
        }
    }
    Ok(out)
}

/// One object's metadata; `None` when it does not exist.
pub async fn get(
    state: &ApiState,
    kind: &ResourceKind,
    namespace: Option<&str>,
    name: &str,
) -> ApiResult<Option<Meta>> {
    let found = state
        .store
        .get(&kind.key(namespace, name))
        .await
        .map_err(store_error)?;
    found
        .map(|kv| {
            serde_json::from_slice::<Object>(&kv.value)
                .map(|o| o.metadata)
                .map_err(ApiError::internal)
        })
        .transpose()
}

/// A request's `labelSelector` and `fieldSelector`.
#[derive(Debug, Default)]
pub struct Selectors {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selectors {
    /// Reads them from the query; a selector that does not parse, or a field that
    /// cannot be selected, is a 400.
    pub fn parse(params: &HashMap<String, String>) -> ApiResult<Self> {
        let get = |k: &str| params.get(k).map(String::as_str).unwrap_or_default();
        let labels = LabelSelector::parse(get("labelSelector"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(get("fieldSelector"))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        if let Some(unknown) = fields
            .requirements()
            .iter()
            .find(|r| !matches!(r.field.as_str(), "metadata.name" | "metadata.namespace"))
        {
            return Err(ApiError::bad_request(format!(
                "{:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\"",
                unknown.field
            )));
        }
        Ok(Self { labels, fields })
    }

    /// Whether `meta` passes both.
    pub fn matches(&self, meta: &Meta) -> bool {
        self.labels.matches(&meta.labels)
            && self.fields.matches(|field| match field {
                "metadata.name" => Some(meta.name.clone()),
                "metadata.namespace" => Some(meta.namespace.clone()),
                _ => None,
            })
    }
}
