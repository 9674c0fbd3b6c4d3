//! Query parameters of reads and writes, parsed once: selectors, pagination, watch
//! options, `fieldValidation`, `dryRun`, `fieldManager`, `force` — from the pairs
//! [`url_pairs`] decodes — and, beside them, who is asking ([`Query::user`]), which the
//! write path's admission needs as Kubernetes' needs the request context.

use crate::apiserver::error::ApiError;
use crate::authn::UserInfo;
use serde_json::Value;
use skiff_model::kinds::ResourceKind;
use skiff_model::selector::{FieldSelector, LabelSelector};
use std::collections::HashMap;

/// Parsed query parameters.
#[derive(Debug, Default, Clone)]
pub struct Query {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit`; 0 is none.
    pub limit: usize,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `watch=true|1`.
    pub watch: bool,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `fieldValidation`: `Strict`, `Warn` (the default) or `Ignore`.
    pub field_validation: FieldValidation,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// `force` (server-side apply).
    pub force: bool,
    /// The authenticated requester; `None` for the in-process components, which write
    /// as the API server's own loopback clients.
    pub user: Option<std::sync::Arc<UserInfo>>,
}

/// What to do with fields the type does not have.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Fail with 400.
    Strict,
    /// Accept, with a `Warning` header per field.
    #[default]
    Warn,
    /// Drop them silently.
    Ignore,
}

impl Query {
    /// Parses a query map for `kind`.
    pub fn parse(kind: &ResourceKind, params: &HashMap<String, String>) -> Result<Self, ApiError> {
        let get = |k: &str| params.get(k).map(String::as_str);
        let labels = LabelSelector::parse(get("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let fields = FieldSelector::parse(get("fieldSelector").unwrap_or(""))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        for requirement in fields.requirements() {
            if !field_supported(kind, &requirement.field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {}",
                    requirement.field
                )));
            }
        }
        let number = |k: &str| -> Result<Option<u64>, ApiError> {
            get(k)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<u64>().map_err(|_| {
                        ApiError::bad_request(format!(
                            "{k} must be a non-negative integer, got {v:?}"
                        ))
                    })
                })
                .transpose()
        };
        let flag = |k: &str| get(k).is_some_and(is_true);
        let field_validation = match get("fieldValidation") {
            None | Some("") | Some("Warn") => FieldValidation::Warn,
            Some("Strict") => FieldValidation::Strict,
            Some("Ignore") => FieldValidation::Ignore,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "fieldValidation must be Strict, Warn or Ignore, got {other:?}"
                )));
            }
        };
        let dry_run = match get("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "dryRun must be All, got {other:?}"
                )));
            }
        };
        Ok(Self {
            labels,
            fields,
            limit: usize::try_from(number("limit")?.unwrap_or(0)).unwrap_or(usize::MAX),
            continue_token: get("continue").filter(|c| !c.is_empty()).map(String::from),
            resource_version: get("resourceVersion")
                .filter(|v| !v.is_empty())
                .map(String::from),
            watch: flag("watch"),
            timeout_seconds: number("timeoutSeconds")?,
            bookmarks: flag("allowWatchBookmarks"),
            field_validation,
            dry_run,
            field_manager: get("fieldManager").map(String::from),
            force: flag("force"),
            user: None,
        })
    }

    /// Whether `object` passes both selectors.
    pub fn matches(&self, kind: &ResourceKind, object: &Value) -> bool {
        let labels = object
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        self.labels.matches(&labels) && self.fields.matches(|f| field_value(kind, object, f))
    }
}

/// Fields each kind can be selected by, beyond `metadata.name` and `metadata.namespace`.
/// Whether a boolean query parameter's value says yes (`true`, `True` or `1`).
pub fn is_true(value: &str) -> bool {
    matches!(value, "true" | "1" | "True")
}

fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Node" => &["spec.unschedulable"],
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Namespace" => &["status.phase"],
        "Secret" => &["type"],
        "Service" => &["spec.clusterIP", "spec.type"],
        "ReplicaSet" | "Job" => &["status.replicas", "status.successful"],
        _ => &[],
    }
}

fn field_supported(kind: &ResourceKind, field: &str) -> bool {
    matches!(field, "metadata.name" | "metadata.namespace")
        || kind_fields(kind.kind).contains(&field)
}

/// The value of a selectable field, as a string (`source` is the event source component).
fn field_value(kind: &ResourceKind, object: &Value, field: &str) -> Option<String> {
    let pointer = match (kind.kind, field) {
        ("Event", "source") => "/source/component".to_string(),
        _ => format!("/{}", field.replace('.', "/")),
    };
    match object.pointer(&pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Decodes `application/x-www-form-urlencoded` query pairs (later keys win).
pub fn url_pairs(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
