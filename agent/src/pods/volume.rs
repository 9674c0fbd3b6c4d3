//! A pod's volumes as host directories to preopen for its containers (WASI preopens stand
//! in for mounts).
//!
//! Parts: [`PodVolumes`] (materializes the volumes under `<pod_dir>/volumes/<name>`, maps a
//! container's `volumeMounts` to [`Preopen`]s, rewrites configMap and secret volumes when
//! their source changes), [`remove`] (a gone pod's directory), and [`VolumeError`].
//!
//! Supported: `emptyDir` (a directory kept across container and agent restarts), `configMap`
//! and `secret` (one file per key, always read-only), and `hostPath` directories under the
//! node's allow-list. Everything else is refused by name. File modes (`defaultMode`,
//! `items[].mode`) are not applied: guests see files through read-only WASI preopens.

use crate::sources::{SourceKind, SourceRef, Sources, secret_entries};
use k8s_openapi::api::core::v1::{Container, HostPathVolumeSource, KeyToPath, Pod, Volume};
use skiff_runtime::Preopen;
use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Why a pod's volumes cannot be prepared or mounted.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// A non-optional ConfigMap does not exist.
    #[error("configmap {0:?} not found")]
    ConfigMapNotFound(String),
    /// A non-optional Secret does not exist.
    #[error("secret {0:?} not found")]
    SecretNotFound(String),
    /// A volume's `items` names a key its non-optional source lacks.
    #[error("{kind} {name:?} references non-existent key: {key}")]
    MissingKey {
        /// `configmap` or `secret`.
        kind: &'static str,
        /// The source's name.
        name: String,
        /// The missing key.
        key: String,
    },
    /// A volume's name cannot be a directory name.
    #[error("volume name {0:?} is not a valid directory name")]
    InvalidVolumeName(String),
    /// An `items[].path` is absolute or climbs out of the volume.
    #[error("volume {volume:?}: item path {path:?} must be relative, without \"..\"")]
    InvalidItemPath {
        /// The volume.
        volume: String,
        /// The offending path.
        path: String,
    },
    /// A hostPath outside the node's allow-list.
    #[error("hostPath {path} is not allowed on this node (allowed: {allowed})")]
    HostPathNotAllowed {
        /// The requested path.
        path: String,
        /// The allow-list, comma-separated (or `none`).
        allowed: String,
    },
    /// A hostPath that is relative or contains `..`.
    #[error("hostPath {0:?} must be absolute, without \"..\"")]
    InvalidHostPath(String),
    /// A hostPath of type `Directory` (or no type) that does not exist.
    #[error("hostPath {0} does not exist")]
    HostPathMissing(String),
    /// A hostPath that exists but is not a directory.
    #[error("hostPath {0} is not a directory: only directories can be preopened in Skiff")]
    HostPathNotDirectory(String),
    /// A hostPath `type` other than `Directory`, `DirectoryOrCreate` or unset.
    #[error(
        "hostPath {path}: type {type_} is not supported: only directories can be preopened in Skiff"
    )]
    HostPathType {
        /// The requested path.
        path: String,
        /// The requested type.
        type_: String,
    },
    /// A volume source Skiff does not implement.
    #[error("volume type {type_} is not supported in Skiff (volume {volume:?})")]
    Unsupported {
        /// The volume.
        volume: String,
        /// The source's field name, e.g. `persistentVolumeClaim`.
        type_: String,
    },
    /// A container mounts a volume the pod does not declare.
    #[error("volumeMount {0:?} does not name a volume of the pod")]
    UnknownVolume(String),
    /// A `subPath` that is absolute or contains `..`.
    #[error("subPath {sub_path:?} of volumeMount {mount:?} must be relative, without \"..\"")]
    InvalidSubPath {
        /// The mount (its volume's name).
        mount: String,
        /// The offending subPath.
        sub_path: String,
    },
    /// A `subPath` that resolves (through symbolic links) outside its volume.
    #[error("subPath {sub_path:?} of volumeMount {mount:?} leads outside its volume")]
    SubPathOutside {
        /// The mount (its volume's name).
        mount: String,
        /// The offending subPath.
        sub_path: String,
    },
    /// A `subPath` that names a file, or is missing from a read-only volume.
    #[error(
        "subPath {sub_path:?} of volumeMount {mount:?} is not a directory: only directories can be preopened in Skiff"
    )]
    SubPathNotDirectory {
        /// The mount (its volume's name).
        mount: String,
        /// The offending subPath.
        sub_path: String,
    },
    /// `subPathExpr` needs the container's environment, which mounts are not given.
    #[error("volumeMount {0:?}: subPathExpr is not supported in Skiff")]
    SubPathExpr(String),
    /// A filesystem operation failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done, e.g. `create directory`.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: io::Error,
    },
}

/// Result alias for this module.
pub type Result<T, E = VolumeError> = std::result::Result<T, E>;

/// A pod's volumes, materialized on the host.
#[derive(Debug)]
pub struct PodVolumes {
    namespace: String,
    volumes: Vec<Prepared>,
}

/// One volume: where it is on the host and what fills it.
#[derive(Debug)]
struct Prepared {
    name: String,
    host: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// A directory owned by the pod.
    EmptyDir,
    /// A node directory on the allow-list.
    HostPath,
    /// Files written from a ConfigMap or Secret; read-only for containers.
    Projected(Projection),
}

/// What a configMap or secret volume shows.
#[derive(Debug)]
struct Projection {
    source: SourceRef,
    items: Option<Vec<KeyToPath>>,
    optional: bool,
}

impl PodVolumes {
    /// Materializes the pod's volumes under `<pod_dir>/volumes/<name>`. Idempotent: called
    /// again for the same `pod_dir` (an agent re-adopting its pods), it keeps emptyDir
    /// contents and brings configMap and secret files up to date.
    pub fn prepare(
        pod: &Pod,
        pod_dir: &Path,
        sources: &Sources,
        host_path_allow: &[PathBuf],
    ) -> Result<Self> {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let root = pod_dir.join("volumes");
        let volumes = pod.spec.iter().flat_map(|s| s.volumes.iter().flatten());
        let mut prepared = Vec::new();
        for volume in volumes {
            let dir = root.join(single_component(&volume.name)?);
            let (host, kind) = if let Some(source) = &volume.host_path {
                (host_path(source, host_path_allow)?, Kind::HostPath)
            } else if let Some(projection) = projection(volume, namespace) {
                let files = projection.files(sources, &volume.name)?;
                create_dir(&dir)?;
                sync_files(&dir, &files)?;
                (dir, Kind::Projected(projection))
            } else if volume.empty_dir.is_some() || source_type(volume).is_none() {
                // A volume with no source is an emptyDir (API defaulting).
                create_dir(&dir)?;
                (dir, Kind::EmptyDir)
            } else {
                return Err(VolumeError::Unsupported {
                    volume: volume.name.clone(),
                    type_: source_type(volume).unwrap_or_default(),
                });
            };
            prepared.push(Prepared {
                name: volume.name.clone(),
                host,
                kind,
            });
        }
        Ok(Self {
            namespace: namespace.to_owned(),
            volumes: prepared,
        })
    }

    /// The preopens for `container`, one per `volumeMount`, at its `mountPath`. ConfigMap
    /// and secret volumes are always read-only; `subPath` selects a directory inside the
    /// volume (created in writable volumes if missing).
    pub fn mounts(&self, container: &Container) -> Result<Vec<Preopen>> {
        let mut preopens = Vec::new();
        for mount in container.volume_mounts.iter().flatten() {
            let volume = self
                .volumes
                .iter()
                .find(|v| v.name == mount.name)
                .ok_or_else(|| VolumeError::UnknownVolume(mount.name.clone()))?;
            if mount
                .sub_path_expr
                .as_deref()
                .is_some_and(|e| !e.is_empty())
            {
                return Err(VolumeError::SubPathExpr(mount.name.clone()));
            }
            let read_only = mount.read_only == Some(true) || !volume.writable();
            let host = match mount.sub_path.as_deref().filter(|s| !s.is_empty()) {
                None => volume.host.clone(),
                Some(sub_path) => volume.sub_dir(&mount.name, sub_path)?,
            };
            preopens.push(Preopen {
                host,
                guest: mount.mount_path.clone(),
                read_only,
            });
        }
        Ok(preopens)
    }

    /// Rewrites the files of configMap and secret volumes whose source changed (keys added,
    /// changed or removed), each file atomically; returns the names of the volumes that
    /// changed. A source that became unreadable (deleted while not optional, a listed key
    /// gone) leaves its volume as it was, with a warning, as the kubelet does.
    pub fn refresh(&self, sources: &Sources) -> Vec<String> {
        let mut changed = Vec::new();
        for volume in &self.volumes {
            let Kind::Projected(projection) = &volume.kind else {
                continue;
            };
            let result = projection
                .files(sources, &volume.name)
                .and_then(|files| sync_files(&volume.host, &files));
            match result {
                Ok(true) => changed.push(volume.name.clone()),
                Ok(false) => {}
                Err(error) => tracing::warn!(
                    volume = %volume.name,
                    error = &error as &dyn std::error::Error,
                    "volume not refreshed; keeping its previous contents"
                ),
            }
        }
        changed
    }

    /// Whether this pod's volumes show `source` (so the caller refreshes only those pods).
    pub fn uses(&self, source: &SourceRef) -> bool {
        self.volumes.iter().any(|v| match &v.kind {
            Kind::Projected(p) => p.source == *source,
            _ => false,
        }) && source.namespace == self.namespace
    }
}

/// Deletes everything under a pod directory (the pod is gone). HostPath volumes live
/// outside it and are untouched; symbolic links inside are removed, not followed.
pub fn remove(pod_dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(pod_dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        result => result,
    }
}

impl Prepared {
    fn writable(&self) -> bool {
        !matches!(self.kind, Kind::Projected(_))
    }

    /// `<volume>/<sub_path>`, resolved, checked to stay inside the volume (before anything
    /// is created: a link planted in a writable volume must not lead a `mkdir` outside).
    fn sub_dir(&self, mount: &str, sub_path: &str) -> Result<PathBuf> {
        let (mount, sub_path) = (mount.to_owned(), sub_path.to_owned());
        let relative = Path::new(&sub_path);
        if !is_plain_relative(relative) {
            return Err(VolumeError::InvalidSubPath { mount, sub_path });
        }
        let root = canonical(&self.host)?;
        let target = resolve_existing_prefix(&root.join(relative))?;
        if !target.starts_with(&root) {
            return Err(VolumeError::SubPathOutside { mount, sub_path });
        }
        if self.writable() && !target.exists() {
            create_dir(&target)?;
        }
        let resolved = match target.canonicalize() {
            Ok(resolved) => resolved,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(VolumeError::SubPathNotDirectory { mount, sub_path });
            }
            Err(source) => return Err(io_error("resolve", &target, source)),
        };
        if !resolved.starts_with(&root) {
            return Err(VolumeError::SubPathOutside { mount, sub_path });
        }
        if !resolved.is_dir() {
            return Err(VolumeError::SubPathNotDirectory { mount, sub_path });
        }
        Ok(resolved)
    }
}

impl Projection {
    /// The files the volume should hold: relative path → contents.
    fn files(&self, sources: &Sources, volume: &str) -> Result<BTreeMap<PathBuf, Vec<u8>>> {
        let (ns, name) = (&self.source.namespace, &self.source.name);
        let entries: Option<BTreeMap<String, Vec<u8>>> = match self.source.kind {
            SourceKind::ConfigMap => sources.config_map(ns, name).map(|cm| {
                let data = cm.data.iter().flatten();
                let binary = cm.binary_data.iter().flatten();
                binary
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .chain(data.map(|(k, v)| (k.clone(), v.clone().into_bytes())))
                    .collect()
            }),
            SourceKind::Secret => sources.secret(ns, name).map(|secret| {
                let entries = secret_entries(&secret);
                entries
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_vec()))
                    .collect()
            }),
        };
        let kind = match self.source.kind {
            SourceKind::ConfigMap => "configmap",
            SourceKind::Secret => "secret",
        };
        let entries = match entries {
            Some(entries) => entries,
            None if self.optional => BTreeMap::new(),
            None if kind == "configmap" => {
                return Err(VolumeError::ConfigMapNotFound(name.clone()));
            }
            None => return Err(VolumeError::SecretNotFound(name.clone())),
        };
        let invalid = |path: &str| VolumeError::InvalidItemPath {
            volume: volume.to_owned(),
            path: path.to_owned(),
        };
        let Some(items) = &self.items else {
            return entries
                .into_iter()
                .map(|(k, v)| Ok((normalized(&k).ok_or_else(|| invalid(&k))?, v)))
                .collect();
        };
        let mut files = BTreeMap::new();
        for item in items {
            let path = normalized(&item.path).ok_or_else(|| invalid(&item.path))?;
            match entries.get(&item.key) {
                Some(bytes) => {
                    files.insert(path, bytes.clone());
                }
                None if self.optional => {}
                None => {
                    return Err(VolumeError::MissingKey {
                        kind,
                        name: name.clone(),
                        key: item.key.clone(),
                    });
                }
            }
        }
        Ok(files)
    }
}

fn projection(volume: &Volume, namespace: &str) -> Option<Projection> {
    let source = |kind, name: &str| SourceRef {
        kind,
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    };
    if let Some(cm) = &volume.config_map {
        return Some(Projection {
            source: source(SourceKind::ConfigMap, &cm.name),
            items: cm.items.clone().filter(|i| !i.is_empty()),
            optional: cm.optional == Some(true),
        });
    }
    let secret = volume.secret.as_ref()?;
    Some(Projection {
        source: source(
            SourceKind::Secret,
            secret.secret_name.as_deref().unwrap_or(""),
        ),
        items: secret.items.clone().filter(|i| !i.is_empty()),
        optional: secret.optional == Some(true),
    })
}

/// The volume's source field, as named in YAML (`persistentVolumeClaim`), if it has one.
fn source_type(volume: &Volume) -> Option<String> {
    match serde_json::to_value(volume) {
        Ok(serde_json::Value::Object(fields)) => {
            fields.into_iter().map(|(k, _)| k).find(|k| k != "name")
        }
        _ => Some("unknown".to_owned()),
    }
}

/// Checks a hostPath against the allow-list and its type; returns its resolved path.
fn host_path(source: &HostPathVolumeSource, allow: &[PathBuf]) -> Result<PathBuf> {
    let path = Path::new(&source.path);
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(VolumeError::InvalidHostPath(source.path.clone()));
    }
    let type_ = source.type_.as_deref().unwrap_or("");
    if !matches!(type_, "" | "Directory" | "DirectoryOrCreate") {
        return Err(VolumeError::HostPathType {
            path: source.path.clone(),
            type_: type_.to_owned(),
        });
    }
    let allowed: Vec<PathBuf> = allow.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let check = |resolved: &Path| {
        if allowed.iter().any(|a| resolved.starts_with(a)) {
            return Ok(());
        }
        let list: Vec<String> = allow.iter().map(|p| p.display().to_string()).collect();
        Err(VolumeError::HostPathNotAllowed {
            path: source.path.clone(),
            allowed: if list.is_empty() {
                "none".into()
            } else {
                list.join(", ")
            },
        })
    };
    let resolved = resolve_existing_prefix(path)?;
    check(&resolved)?;
    match std::fs::metadata(&resolved) {
        Ok(meta) if meta.is_dir() => Ok(resolved),
        Ok(_) => Err(VolumeError::HostPathNotDirectory(source.path.clone())),
        Err(e) if e.kind() == io::ErrorKind::NotFound && type_ == "DirectoryOrCreate" => {
            create_dir(&resolved)?;
            // Re-checked: a link created meanwhile must not lead the directory elsewhere.
            let resolved = canonical(&resolved)?;
            check(&resolved)?;
            Ok(resolved)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(VolumeError::HostPathMissing(source.path.clone()))
        }
        Err(source) => Err(io_error("read", &resolved, source)),
    }
}

/// `path` with its longest existing ancestor canonicalized (links resolved) and the
/// rest appended as written. `path` is absolute and has no `..`.
fn resolve_existing_prefix(path: &Path) -> Result<PathBuf> {
    for ancestor in path.ancestors() {
        match ancestor.canonicalize() {
            Ok(resolved) => {
                // Joined name by name: joining an empty rest would add a trailing `/`.
                let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
                return Ok(rest.components().fold(resolved, |p, c| p.join(c)));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(io_error("resolve", ancestor, source)),
        }
    }
    Ok(path.to_owned())
}

/// Whether `path` is relative and made only of names (no `..`, no root, not empty).
fn is_plain_relative(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
        && path.components().any(|c| matches!(c, Component::Normal(_)))
}

/// `path` as names only (`./a//b` → `a/b`), if it is plainly relative.
fn normalized(path: &str) -> Option<PathBuf> {
    let path = Path::new(path);
    is_plain_relative(path).then(|| {
        path.components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect()
    })
}

fn single_component(name: &str) -> Result<&str> {
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) if !name.contains('/') => Ok(name),
        _ => Err(VolumeError::InvalidVolumeName(name.to_owned())),
    }
}

/// Makes `dir` hold exactly `files` (relative path → contents): stale files are removed
/// (and directories left empty by them), new or different ones written to a temporary
/// name and renamed into place. Returns whether anything changed.
fn sync_files(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> Result<bool> {
    let mut changed = false;
    let mut existing = Vec::new();
    list_files(dir, Path::new(""), &mut existing)?;
    for relative in existing {
        if files.contains_key(&relative) {
            continue;
        }
        let path = dir.join(&relative);
        std::fs::remove_file(&path).map_err(|e| io_error("remove", &path, e))?;
        changed = true;
        // Prune now-empty parents; a non-empty one refuses, which ends the climb.
        for parent in relative.ancestors().skip(1) {
            if parent.as_os_str().is_empty() || std::fs::remove_dir(dir.join(parent)).is_err() {
                break;
            }
        }
    }
    for (relative, contents) in files {
        let path = dir.join(relative);
        if std::fs::read(&path).is_ok_and(|current| current == *contents) {
            continue;
        }
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(|e| io_error("remove", &path, e))?;
        }
        let parent = path.parent().unwrap_or(dir);
        create_dir(parent)?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let temp = parent.join(format!(".{name}.skiff-tmp"));
        std::fs::write(&temp, contents).map_err(|e| io_error("write", &temp, e))?;
        std::fs::rename(&temp, &path).map_err(|e| io_error("rename into", &path, e))?;
        changed = true;
    }
    Ok(changed)
}

/// Appends the relative paths of the non-directories under `dir/relative` to `out`.
fn list_files(dir: &Path, relative: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let here = dir.join(relative);
    let entries = std::fs::read_dir(&here).map_err(|e| io_error("read directory", &here, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("read directory", &here, e))?;
        let child = relative.join(entry.file_name());
        let file_type = entry
            .file_type()
            .map_err(|e| io_error("read", &entry.path(), e))?;
        if file_type.is_dir() {
            list_files(dir, &child, out)?;
        } else {
            out.push(child);
        }
    }
    Ok(())
}

fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| io_error("create directory", path, e))
}

fn canonical(path: &Path) -> Result<PathBuf> {
    path.canonicalize()
        .map_err(|e| io_error("resolve", path, e))
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> VolumeError {
    VolumeError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests;
