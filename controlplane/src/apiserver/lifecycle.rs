//! The metadata lifecycle: what the server sets when an object is created (uid, name from
//! `generateName`, namespace, `creationTimestamp`, `generation`), what it keeps when one is
//! updated (identity and timestamps; `generation` bumped only when the spec changes), and
//! `resourceVersion`, which is never stored: it is the store revision, set on read.
//! What is wrong with an object's metadata is a `skiff_model::meta::MetadataError`; the
//! API answers it with `400 Bad Request`.

use serde_json::{Value, json};
use skiff_model::meta::{MetadataError, metadata};

/// Characters of a `generateName` suffix (as Kubernetes: no vowels, no look-alikes).
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
/// Length of a `generateName` suffix.
const SUFFIX_LEN: usize = 5;

/// Sets the server-owned metadata of a new object. `namespace` is the request's.
pub fn on_create(object: &mut Value, namespace: Option<&str>) -> Result<(), MetadataError> {
    let meta = metadata(object)?;
    if meta
        .get("name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let name = format!("{prefix}{}", random_suffix());
                meta.insert("name".into(), Value::String(name));
            }
            _ => {}
        }
    }
    match (namespace, meta.get("namespace").and_then(Value::as_str)) {
        (Some(ns), Some(body)) if !body.is_empty() && body != ns => {
            return Err(MetadataError::NamespaceMismatch);
        }
        (Some(ns), _) => {
            meta.insert("namespace".into(), Value::String(ns.to_string()));
        }
        (None, _) => {
            meta.remove("namespace");
        }
    }
    meta.insert(
        "uid".into(),
        Value::String(uuid::Uuid::new_v4().to_string()),
    );
    meta.insert(
        "creationTimestamp".into(),
        Value::String(skiff_model::time::now_rfc3339()),
    );
    meta.insert("generation".into(), json!(1));
    meta.remove("resourceVersion");
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.remove("selfLink");
    Ok(())
}

/// Carries identity and server-owned fields from `old` into `new` on update, and bumps
/// `generation` when anything but metadata and status changed.
pub fn on_update(new: &mut Value, old: &Value) -> Result<(), MetadataError> {
    let old_meta = old.get("metadata").cloned().unwrap_or_else(|| json!({}));
    let spec_changed = without_meta_and_status(new) != without_meta_and_status(old);
    let meta = metadata(new)?;
    for field in [
        "uid",
        "creationTimestamp",
        "namespace",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match old_meta.get(field) {
            Some(value) => meta.insert(field.into(), value.clone()),
            None => meta.remove(field),
        };
    }
    let generation = old_meta
        .get("generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let generation = if spec_changed {
        generation + 1
    } else {
        generation
    };
    meta.insert("generation".into(), json!(generation));
    meta.remove("resourceVersion");
    meta.remove("selfLink");
    Ok(())
}

fn without_meta_and_status(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

/// The `generateName` prefix of an object about to be created whose name the server is to
/// generate (it has none of its own), if it is one.
pub fn name_prefix(object: &Value) -> Option<String> {
    let meta = object.get("metadata")?;
    let named = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|name| !name.is_empty());
    let prefix = meta.get("generateName")?.as_str()?;
    (!named && !prefix.is_empty()).then(|| prefix.to_owned())
}

/// Gives a created object a new name from `prefix` (its generated name was taken).
pub fn rename(object: &mut Value, prefix: &str) -> Result<(), MetadataError> {
    metadata(object)?.insert(
        "name".into(),
        Value::String(format!("{prefix}{}", random_suffix())),
    );
    Ok(())
}

/// Sets `metadata.resourceVersion` (the store revision) on an object being returned.
pub fn set_resource_version(object: &mut Value, revision: u64) {
    if let Ok(meta) = metadata(object) {
        meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
    }
}

fn random_suffix() -> String {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    bytes
        .iter()
        .take(SUFFIX_LEN)
        .map(|b| SUFFIX_ALPHABET[usize::from(*b) % SUFFIX_ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use skiff_model::meta::meta_str;

    #[test]
    fn create_sets_identity_and_generate_name() {
        let mut pod = json!({"metadata": {"generateName": "web-", "resourceVersion": "9"}});
        on_create(&mut pod, Some("default")).expect("create");
        let name = meta_str(&pod, "name").expect("name");
        assert!(name.starts_with("web-") && name.len() == 9, "{name}");
        assert_eq!(meta_str(&pod, "namespace"), Some("default"));
        assert!(meta_str(&pod, "uid").is_some());
        assert!(meta_str(&pod, "resourceVersion").is_none());
        assert_eq!(pod["metadata"]["generation"], 1);
    }

    #[test]
    fn only_nameless_objects_with_a_prefix_get_generated_names_and_renames_keep_it() {
        assert_eq!(
            name_prefix(&json!({"metadata": {"generateName": "web-"}})).as_deref(),
            Some("web-")
        );
        assert_eq!(
            name_prefix(&json!({"metadata": {"name": "", "generateName": "web-"}})).as_deref(),
            Some("web-")
        );
        assert_eq!(
            name_prefix(&json!({"metadata": {"name": "a", "generateName": "web-"}})),
            None
        );
        assert_eq!(
            name_prefix(&json!({"metadata": {"generateName": ""}})),
            None
        );
        let mut pod = json!({"metadata": {"generateName": "web-"}});
        on_create(&mut pod, Some("default")).expect("create");
        let first = meta_str(&pod, "name").expect("name").to_owned();
        let renamed: std::collections::HashSet<String> = (0..20)
            .map(|_| {
                rename(&mut pod, "web-").expect("rename");
                meta_str(&pod, "name").expect("name").to_owned()
            })
            .collect();
        assert!(renamed.len() > 1, "{renamed:?}");
        for name in renamed.iter().chain([&first]) {
            let suffix = name.strip_prefix("web-").expect("the prefix kept");
            assert_eq!(suffix.len(), SUFFIX_LEN, "{name}");
            assert!(
                suffix.bytes().all(|b| SUFFIX_ALPHABET.contains(&b)),
                "{name}"
            );
        }
    }

    #[test]
    fn create_refuses_a_different_namespace() {
        let mut pod = json!({"metadata": {"name": "a", "namespace": "other"}});
        let err = on_create(&mut pod, Some("default")).expect_err("mismatch");
        assert_eq!(err, MetadataError::NamespaceMismatch);
    }

    #[test]
    fn generation_moves_only_with_the_spec() {
        let mut old = json!({"metadata": {"name": "d"}, "spec": {"replicas": 1}});
        on_create(&mut old, Some("ns")).expect("create");
        let mut labels_only = old.clone();
        labels_only["metadata"]["labels"] = json!({"a": "b"});
        labels_only["status"] = json!({"replicas": 3});
        on_update(&mut labels_only, &old).expect("update");
        assert_eq!(labels_only["metadata"]["generation"], 1);
        let mut scaled = old.clone();
        scaled["spec"]["replicas"] = json!(3);
        scaled["metadata"]["uid"] = json!("forged");
        on_update(&mut scaled, &old).expect("update");
        assert_eq!(scaled["metadata"]["generation"], 2);
        assert_eq!(scaled["metadata"]["uid"], old["metadata"]["uid"]);
    }
}
