//! A container's environment, built as the kubelet builds it (`makeEnvironmentVariables`).
//!
//! Parts: [`resolve`] (`envFrom` first, then `env` in order: plain values with `$(VAR)`
//! expansion, `valueFrom` config map and secret keys, pod fields and container resources),
//! [`expand`] (Kubernetes' `$(VAR)` expansion, also used for `command` and `args`),
//! and [`ConfigError`] (why an environment cannot be built). Quantities for
//! `resourceFieldRef` are read by `skiff_model::quantity`.
//!
//! Pods have no IP of their own in Skiff: `status.podIP` is the host's IP.

use crate::sources::{Sources, secret_entries};
use k8s_openapi::api::core::v1::{
    Container, EnvFromSource, ObjectFieldSelector, Pod, ResourceFieldSelector,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use skiff_model::quantity::{Quantity as Amount, ceil_div};
use std::collections::HashMap;

/// Why a container's environment cannot be built. Messages follow the kubelet's.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A non-optional ConfigMap does not exist.
    #[error("configmap {0:?} not found")]
    ConfigMapNotFound(String),
    /// A non-optional Secret does not exist.
    #[error("secret {0:?} not found")]
    SecretNotFound(String),
    /// A non-optional key is missing from a ConfigMap.
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKeyNotFound {
        /// The pod's namespace.
        namespace: String,
        /// The ConfigMap.
        name: String,
        /// The missing key.
        key: String,
    },
    /// A non-optional key is missing from a Secret.
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKeyNotFound {
        /// The pod's namespace.
        namespace: String,
        /// The Secret.
        name: String,
        /// The missing key.
        key: String,
    },
    /// A `fieldRef` names a field the downward API does not offer.
    #[error("unsupported fieldPath: {0}")]
    UnsupportedFieldPath(String),
    /// A `fieldRef` names an API version other than `v1`.
    #[error("unsupported pod version: {0}")]
    UnsupportedApiVersion(String),
    /// A `resourceFieldRef` names a resource other than cpu, memory or ephemeral-storage.
    #[error("unsupported container resource: {0}")]
    UnsupportedResource(String),
    /// A `resourceFieldRef` names a container the pod does not have.
    #[error("resourceFieldRef names container {0:?}, which the pod does not have")]
    ContainerNotFound(String),
    /// A resource quantity (a limit, a request or a divisor) cannot be read.
    #[error("invalid quantity {0:?}")]
    InvalidQuantity(String),
}

/// Builds `container`'s environment, in order: `envFrom` sources (each source's keys in
/// sorted order, invalid variable names skipped), then `env` entries. A later definition
/// of a name replaces the value but keeps the position where the name first appeared.
pub fn resolve(
    pod: &Pod,
    container: &Container,
    sources: &Sources,
    host_ip: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mut env = Env::default();
    for from in container.env_from.iter().flatten() {
        env_from(from, namespace, sources, &mut env)?;
    }
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            // As in the kubelet, a non-empty `value` wins over `valueFrom`.
            (Some(value), _) if !value.is_empty() => expand(value, &env.vars),
            (_, Some(from)) => {
                let value = if let Some(field) = &from.field_ref {
                    Some(field_value(field, pod, host_ip)?)
                } else if let Some(resource) = &from.resource_field_ref {
                    Some(resource_value(resource, pod, container)?)
                } else if let Some(selector) = &from.config_map_key_ref {
                    config_map_key(selector, namespace, sources)?
                } else if let Some(selector) = &from.secret_key_ref {
                    secret_key(selector, namespace, sources)?
                } else {
                    Some(String::new())
                };
                // `None`: an optional source or key is missing, so the variable is unset.
                let Some(value) = value else { continue };
                value
            }
            _ => String::new(),
        };
        env.set(var.name.clone(), value);
    }
    Ok(env.vars)
}

/// Kubernetes' `$(VAR)` expansion: `$(NAME)` becomes NAME's value in `env` (the last
/// definition wins), `$$` becomes `$`, and a reference to an unknown name or an unclosed
/// `$(` is left as written.
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    let lookup = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // `checkpoint..cursor` is input not yet copied. Only ASCII bytes are matched, so every
    // slice boundary below is a character boundary.
    let (mut checkpoint, mut cursor) = (0, 0);
    while cursor < bytes.len() {
        if bytes[cursor] != b'$' || cursor + 1 == bytes.len() {
            cursor += 1;
            continue;
        }
        out.push_str(&text[checkpoint..cursor]);
        match bytes[cursor + 1] {
            b'$' => {
                out.push('$');
                cursor += 2;
            }
            b'(' => match text[cursor + 2..].find(')') {
                Some(len) => {
                    let name = &text[cursor + 2..cursor + 2 + len];
                    match lookup(name) {
                        Some(value) => out.push_str(value),
                        None => out.push_str(&text[cursor..cursor + 3 + len]),
                    }
                    cursor += 3 + len;
                }
                None => {
                    out.push_str("$(");
                    cursor += 2;
                }
            },
            // A `$` that starts nothing: kept, and the next character is read as plain text.
            _ => {
                out.push('$');
                cursor += 1;
            }
        }
        checkpoint = cursor;
    }
    out.push_str(&text[checkpoint..]);
    out
}

/// Variables in first-definition order, with an index for replacing values in place.
#[derive(Default)]
struct Env {
    vars: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl Env {
    fn set(&mut self, name: String, value: String) {
        match self.index.get(&name) {
            Some(&i) => self.vars[i].1 = value,
            None => {
                self.index.insert(name.clone(), self.vars.len());
                self.vars.push((name, value));
            }
        }
    }
}

fn env_from(
    from: &EnvFromSource,
    namespace: &str,
    sources: &Sources,
    env: &mut Env,
) -> Result<(), ConfigError> {
    let prefix = from.prefix.as_deref().unwrap_or("");
    let mut add = |key: &str, value: String| {
        let name = format!("{prefix}{key}");
        if is_env_var_name(&name) {
            env.set(name, value);
        } else {
            tracing::debug!(%name, "envFrom key skipped: not a valid environment variable name");
        }
    };
    if let Some(source) = &from.config_map_ref {
        match sources.config_map(namespace, &source.name) {
            Some(cm) => {
                for (key, value) in cm.data.iter().flatten() {
                    add(key, value.clone());
                }
            }
            None if source.optional == Some(true) => {}
            None => return Err(ConfigError::ConfigMapNotFound(source.name.clone())),
        }
    }
    if let Some(source) = &from.secret_ref {
        match sources.secret(namespace, &source.name) {
            Some(secret) => {
                for (key, value) in secret_entries(&secret) {
                    add(key, String::from_utf8_lossy(value).into_owned());
                }
            }
            None if source.optional == Some(true) => {}
            None => return Err(ConfigError::SecretNotFound(source.name.clone())),
        }
    }
    Ok(())
}

/// Kubernetes' `IsEnvVarName`: `[-._a-zA-Z][-._a-zA-Z0-9]*`, and not `.`, `..` or `..*`.
fn is_env_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    chars
        .next()
        .is_some_and(|c| valid_char(c) && !c.is_ascii_digit())
        && chars.all(valid_char)
        && name != "."
        && !name.starts_with("..")
}

fn config_map_key(
    selector: &k8s_openapi::api::core::v1::ConfigMapKeySelector,
    namespace: &str,
    sources: &Sources,
) -> Result<Option<String>, ConfigError> {
    let optional = selector.optional == Some(true);
    let Some(cm) = sources.config_map(namespace, &selector.name) else {
        return match optional {
            true => Ok(None),
            false => Err(ConfigError::ConfigMapNotFound(selector.name.clone())),
        };
    };
    match cm.data.as_ref().and_then(|d| d.get(&selector.key)) {
        Some(value) => Ok(Some(value.clone())),
        None if optional => Ok(None),
        None => Err(ConfigError::ConfigMapKeyNotFound {
            namespace: namespace.to_owned(),
            name: selector.name.clone(),
            key: selector.key.clone(),
        }),
    }
}

fn secret_key(
    selector: &k8s_openapi::api::core::v1::SecretKeySelector,
    namespace: &str,
    sources: &Sources,
) -> Result<Option<String>, ConfigError> {
    let optional = selector.optional == Some(true);
    let Some(secret) = sources.secret(namespace, &selector.name) else {
        return match optional {
            true => Ok(None),
            false => Err(ConfigError::SecretNotFound(selector.name.clone())),
        };
    };
    match secret_entries(&secret).get(selector.key.as_str()) {
        Some(value) => Ok(Some(String::from_utf8_lossy(value).into_owned())),
        None if optional => Ok(None),
        None => Err(ConfigError::SecretKeyNotFound {
            namespace: namespace.to_owned(),
            name: selector.name.clone(),
            key: selector.key.clone(),
        }),
    }
}

/// The downward API's pod fields, as the kubelet offers them to `env`.
fn field_value(
    field: &ObjectFieldSelector,
    pod: &Pod,
    host_ip: &str,
) -> Result<String, ConfigError> {
    if let Some(version) = field.api_version.as_deref().filter(|v| *v != "v1") {
        return Err(ConfigError::UnsupportedApiVersion(version.to_owned()));
    }
    let path = field.field_path.as_str();
    let meta = &pod.metadata;
    let spec = pod.spec.as_ref();
    let value = match path {
        "metadata.name" => meta.name.clone(),
        "metadata.namespace" => meta.namespace.clone(),
        "metadata.uid" => meta.uid.clone(),
        "spec.nodeName" => spec.and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()),
        "status.hostIP" | "status.hostIPs" | "status.podIP" | "status.podIPs" => {
            Some(host_ip.to_owned())
        }
        _ => {
            let (map, key) = match subscript(path) {
                Some(("metadata.labels", key)) => (&meta.labels, key),
                Some(("metadata.annotations", key)) => (&meta.annotations, key),
                _ => return Err(ConfigError::UnsupportedFieldPath(path.to_owned())),
            };
            map.as_ref().and_then(|m| m.get(key)).cloned()
        }
    };
    Ok(value.unwrap_or_default())
}

/// Splits `path['key']` into `path` and `key`.
fn subscript(path: &str) -> Option<(&str, &str)> {
    let (path, key) = path.strip_suffix("']")?.split_once("['")?;
    (!path.is_empty()).then_some((path, key))
}

/// A container's limit or request, divided by the divisor (default 1) and rounded up, as
/// the kubelet computes it. An unset request falls back to the limit (as API defaulting
/// does); an unset limit reads as 0 (the kubelet would use node allocatable).
fn resource_value(
    selector: &ResourceFieldSelector,
    pod: &Pod,
    container: &Container,
) -> Result<String, ConfigError> {
    let container = match selector.container_name.as_deref() {
        None | Some("") => container,
        Some(name) => pod
            .spec
            .iter()
            .flat_map(|s| {
                s.containers
                    .iter()
                    .chain(s.init_containers.iter().flatten())
            })
            .find(|c| c.name == name)
            .ok_or_else(|| ConfigError::ContainerNotFound(name.to_owned()))?,
    };
    let unsupported = || ConfigError::UnsupportedResource(selector.resource.clone());
    let (set, resource) = selector.resource.split_once('.').ok_or_else(unsupported)?;
    let milli = match resource {
        "cpu" => true,
        "memory" | "ephemeral-storage" => false,
        _ => return Err(unsupported()),
    };
    let resources = container.resources.as_ref();
    let limit = resources.and_then(|r| r.limits.as_ref()?.get(resource));
    let quantity = match set {
        "limits" => limit,
        "requests" => resources
            .and_then(|r| r.requests.as_ref()?.get(resource))
            .or(limit),
        _ => return Err(unsupported()),
    };
    // The kubelet works in millis for CPU, in units otherwise, rounding each up first.
    let scale = if milli { 1000 } else { 1 };
    let read = |q: &Quantity| -> Result<(bool, i128), ConfigError> {
        let invalid = || ConfigError::InvalidQuantity(q.0.clone());
        let amount = Amount::parse(&q.0).map_err(|_| invalid())?;
        Ok((
            amount.is_zero(),
            amount.scaled_ceil(scale).ok_or_else(invalid)?,
        ))
    };
    let value = quantity.map(read).transpose()?.map_or(0, |(_, v)| v);
    let divisor = match selector.divisor.as_ref().map(read).transpose()? {
        // A zero divisor means "unset" to the kubelet.
        None | Some((true, _)) => scale,
        Some((false, d)) if d > 0 => d,
        Some(_) => {
            let divisor = selector.divisor.as_ref().map(|q| q.0.clone());
            return Err(ConfigError::InvalidQuantity(divisor.unwrap_or_default()));
        }
    };
    Ok(ceil_div(value, divisor).to_string())
}

#[cfg(test)]
mod tests;
