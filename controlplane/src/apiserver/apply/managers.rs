//! `metadata.managedFields`: reading the entries into field sets and writing them back, as
//! Kubernetes' field manager does.
//!
//! A manager is identified by its name, operation and subresource, and — for `Update`
//! only — its apiVersion (an applier keeps one entry across versions). Writing back drops
//! entries that own nothing, folds the oldest `Update` entries into one `ancient-changes`
//! entry past [`MAX_UPDATE_MANAGERS`], and sorts entries by operation, time, manager and
//! apiVersion. Entries that cannot be read (unknown operation, fields type, or trie) are
//! dropped rather than failing every later write.

use super::set::FieldSet;
use serde_json::{Map, Value, json};

/// How many `Update` entries an object keeps before the oldest are merged into one:
/// Kubernetes' `DefaultMaxUpdateManagers`, which bounds managedFields on objects that many
/// controllers and users write.
pub(crate) const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager the oldest `Update` entries are folded into.
const ANCIENT_CHANGES: &str = "ancient-changes";

/// The operation that recorded an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update or a non-apply patch.
    Update,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::Apply => "Apply",
            Self::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The field manager's name.
    pub(crate) manager: String,
    /// How it wrote.
    pub(crate) operation: Operation,
    /// The apiVersion the fields are expressed in.
    pub(crate) api_version: String,
    /// When it last changed the object (RFC 3339), if known.
    pub(crate) time: Option<String>,
    /// The subresource written through, if any.
    pub(crate) subresource: Option<String>,
    /// What it owns.
    pub(crate) fields: FieldSet,
}

impl Entry {
    /// A new entry for a write through the main resource.
    pub(crate) fn new(
        manager: &str,
        operation: Operation,
        api_version: &str,
        time: &str,
        fields: FieldSet,
    ) -> Self {
        Self {
            manager: manager.to_string(),
            operation,
            api_version: api_version.to_string(),
            time: Some(time.to_string()),
            subresource: None,
            fields,
        }
    }

    /// Whether this entry is the one `manager` writes through the main resource with
    /// `operation` (at `api_version`, for updates).
    pub(crate) fn is(&self, manager: &str, operation: Operation, api_version: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.is_none()
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    fn decode(value: &Value) -> Option<Self> {
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_string);
        let operation = match value.get("operation").and_then(Value::as_str)? {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return None,
        };
        let fields = match (text("fieldsType").as_deref(), value.get("fieldsV1")) {
            (Some("FieldsV1"), Some(trie)) => FieldSet::from_fields_v1(trie)?,
            (None, None) => FieldSet::default(),
            _ => return None,
        };
        Some(Self {
            manager: text("manager").unwrap_or_default(),
            operation,
            api_version: text("apiVersion").unwrap_or_default(),
            time: text("time"),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            fields,
        })
    }

    fn encode(&self) -> Value {
        let mut out = Map::new();
        out.insert("manager".into(), json!(self.manager));
        out.insert("operation".into(), json!(self.operation.as_str()));
        out.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = &self.time {
            out.insert("time".into(), json!(time));
        }
        out.insert("fieldsType".into(), json!("FieldsV1"));
        out.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(subresource) = &self.subresource {
            out.insert("subresource".into(), json!(subresource));
        }
        Value::Object(out)
    }
}

/// Whether `object` carries a non-empty `metadata.managedFields` list.
pub(crate) fn present(object: &Value) -> bool {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|entries| !entries.is_empty())
}

/// The entries `object` carries.
pub(crate) fn read(object: &Value) -> Vec<Entry> {
    object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| entries.iter().filter_map(Entry::decode).collect())
        .unwrap_or_default()
}

/// Removes `metadata.managedFields` from `object`.
pub(crate) fn clear(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
}

/// Writes `entries` into `object`'s metadata, tidied: empty entries dropped, old updates
/// folded, sorted. No entries leaves no `managedFields`.
pub(crate) fn write(object: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.fields.is_empty());
    fold_ancient_updates(&mut entries);
    entries.sort_by(|a, b| {
        (
            a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    clear(object);
    if entries.is_empty() {
        return;
    }
    if let Some(meta) = metadata(object) {
        meta.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(Entry::encode).collect()),
        );
    }
}

fn metadata(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = object.as_object_mut()?;
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    meta.as_object_mut()
}

/// Merges the oldest `Update` entries into one `ancient-changes` entry until at most
/// [`MAX_UPDATE_MANAGERS`] remain.
fn fold_ancient_updates(entries: &mut Vec<Entry>) {
    let updates = entries
        .iter()
        .filter(|e| e.operation == Operation::Update)
        .count();
    if updates <= MAX_UPDATE_MANAGERS {
        return;
    }
    let mut oldest: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == Operation::Update)
        .collect();
    oldest.sort_by(|&a, &b| {
        (&entries[a].time, &entries[a].manager).cmp(&(&entries[b].time, &entries[b].manager))
    });
    // Folding n entries into one removes n - 1.
    oldest.truncate(updates - MAX_UPDATE_MANAGERS + 1);
    let newest = oldest.last().map(|&i| entries[i].clone());
    let Some(newest) = newest else {
        return;
    };
    let mut fields = FieldSet::default();
    for &i in &oldest {
        fields = fields.union(&entries[i].fields);
    }
    let mut index = 0;
    entries.retain(|_| {
        let keep = !oldest.contains(&index);
        index += 1;
        keep
    });
    entries.push(Entry {
        manager: ANCIENT_CHANGES.to_string(),
        operation: Operation::Update,
        subresource: None,
        fields,
        ..newest
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(manager: &str, operation: &str, time: &str) -> Value {
        json!({"manager": manager, "operation": operation, "apiVersion": "v1", "time": time,
            "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {format!("f:{manager}"): {}}}})
    }

    #[test]
    fn entries_round_trip_sorted_and_unreadable_ones_dropped() {
        let object = json!({"metadata": {"managedFields": [
            entry("b", "Update", "2024-01-01T00:00:02Z"),
            entry("a", "Update", "2024-01-01T00:00:02Z"),
            entry("z", "Apply", "2024-01-01T00:00:09Z"),
            entry("bad", "Replace", "2024-01-01T00:00:00Z"),
            {"manager": "x", "operation": "Update", "fieldsType": "FieldsV2", "fieldsV1": {}},
        ]}});
        let entries = read(&object);
        assert_eq!(entries.len(), 3);
        let mut out = json!({"metadata": {"name": "n"}});
        write(&mut out, entries);
        let managers: Vec<_> = out["metadata"]["managedFields"]
            .as_array()
            .map(|e| e.iter().map(|e| e["manager"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(managers, vec![json!("z"), json!("a"), json!("b")]);
        assert_eq!(
            out["metadata"]["managedFields"][0],
            entry("z", "Apply", "2024-01-01T00:00:09Z")
        );
        write(&mut out, Vec::new());
        assert_eq!(out, json!({"metadata": {"name": "n"}}));
    }

    #[test]
    fn oldest_updates_fold_into_ancient_changes() {
        let object = json!({"metadata": {"managedFields": (0..12)
            .map(|i| entry(&format!("m{i:02}"), "Update", &format!("2024-01-01T00:00:{i:02}Z")))
            .collect::<Vec<_>>()}});
        let mut out = object.clone();
        write(&mut out, read(&object));
        let entries = read(&out);
        assert_eq!(entries.len(), MAX_UPDATE_MANAGERS);
        let ancient = entries
            .iter()
            .find(|e| e.manager == ANCIENT_CHANGES)
            .expect("a folded entry");
        assert_eq!(ancient.fields.paths().len(), 3);
        assert_eq!(ancient.time.as_deref(), Some("2024-01-01T00:00:02Z"));
    }
}
