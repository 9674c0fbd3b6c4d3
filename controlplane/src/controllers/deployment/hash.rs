//! The `pod-template-hash`: a short name for a Deployment's pod template, in its
//! ReplicaSets' names, selectors and pod labels, so that each template has one ReplicaSet.
//!
//! Like Kubernetes' `ComputeHash`, it is the FNV-32a hash of the template (plus the
//! Deployment's `collisionCount`, when set, to step around a collision), rendered in
//! decimal and then "safe-encoded" into consonants and digits that cannot spell words. The
//! template is hashed as canonical JSON (object keys sorted, no whitespace), so the value is
//! the same in every process and across restarts; it is not byte-equal to Kubernetes' own
//! (which hashes Go's in-memory representation).

use k8s_openapi::api::core::v1::PodTemplateSpec;
use serde_json::Value;

/// The label (and selector key) that carries the hash.
pub(crate) const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Characters of encoded strings: no vowels (no words), no look-alikes (Kubernetes'
/// `rand.SafeEncodeString` alphabet).
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// The hash of `template`, with `collision_count` mixed in when set.
pub(crate) fn template_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let value = serde_json::to_value(template).unwrap_or(Value::Null);
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    let mut hash = fnv32a(FNV_OFFSET, canonical.as_bytes());
    if let Some(count) = collision_count {
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(count as u32).to_le_bytes());
        hash = fnv32a(hash, &bytes);
    }
    safe_encode(&hash.to_string())
}

fn fnv32a(mut hash: u32, bytes: &[u8]) -> u32 {
    for b in bytes {
        hash ^= u32::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// Maps every byte to a character of [`ALPHANUMS`].
fn safe_encode(s: &str) -> String {
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

/// JSON with object keys sorted at every level, whatever map order serde_json keeps.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Whether two templates are the same but for the hash label (Kubernetes'
/// `EqualIgnoreHash`): how a Deployment recognises the ReplicaSet of its template.
pub(crate) fn equal_ignoring_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    without_hash(a) == without_hash(b)
}

fn without_hash(template: &PodTemplateSpec) -> PodTemplateSpec {
    let mut template = template.clone();
    if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(POD_TEMPLATE_HASH);
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn template(image: &str, labels: &[(&str, &str)]) -> PodTemplateSpec {
        PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "main".into(),
                    image: Some(image.into()),
                    env: Some(vec![EnvVar {
                        name: "COLOR".into(),
                        value: Some("blue".into()),
                        ..EnvVar::default()
                    }]),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        }
    }

    #[test]
    fn the_hash_is_stable_across_processes_and_builds() {
        // A fixed value: if this changes, every Deployment in every existing cluster
        // would roll its pods on upgrade.
        let t = template("file:///app.wasm", &[("app", "web")]);
        assert_eq!(template_hash(&t, None), "65c5cddc86");
        assert_eq!(template_hash(&t, Some(1)), "6c876788c5");
    }

    #[test]
    fn the_hash_follows_the_template_and_the_collision_count() {
        let t = template("file:///app.wasm", &[("app", "web")]);
        let h = template_hash(&t, None);
        assert_eq!(h, template_hash(&t.clone(), None));
        assert_ne!(
            h,
            template_hash(&template("file:///v2.wasm", &[("app", "web")]), None)
        );
        assert_ne!(h, template_hash(&t, Some(0)));
        assert_ne!(template_hash(&t, Some(0)), template_hash(&t, Some(1)));
        assert!(h.bytes().all(|b| ALPHANUMS.contains(&b)), "{h}");
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value: Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":"x"}}"#).expect("json");
        let mut out = String::new();
        write_canonical(&value, &mut out);
        assert_eq!(out, r#"{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}"#);
    }

    #[test]
    fn templates_are_compared_without_the_hash_label() {
        let plain = template("file:///app.wasm", &[("app", "web")]);
        let labelled = template(
            "file:///app.wasm",
            &[("app", "web"), (POD_TEMPLATE_HASH, "abc")],
        );
        assert!(equal_ignoring_hash(&plain, &labelled));
        assert!(!equal_ignoring_hash(
            &plain,
            &template("file:///v2.wasm", &[("app", "web")])
        ));
        assert!(!equal_ignoring_hash(
            &plain,
            &template("file:///app.wasm", &[("app", "web"), ("x", "y")])
        ));
    }
}
