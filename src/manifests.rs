//! Manifests as `skiff apply -f` and `skiff up -f` read them: [`load`] reads files and
//! directories (their `.yaml`, `.yml` and `.json` files, sorted, not recursively),
//! multi-document YAML with empty documents skipped and `kind: List` items flattened, checks
//! that each object is of a kind the server serves, and rewrites every container image that
//! is a relative path (`./app.wasm`, `../bin/app.wasm`) to the module it names in the
//! cluster's module store, `skiff://modules/<file-name>@sha256:<hex>`, collecting the
//! [`Module`]s to upload. [`Manifests::order`] sorts objects for applying.
//!
//! Everything here is local and happens before anything is sent, so a bad manifest or a
//! missing module fails the command before it changes the cluster. Errors name the file and
//! the document (`app.yaml: document 2: ...`).

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::Value;
use skiff_controlplane::module_store::{Digest, WASM_MAGIC};
use skiff_model::kinds::{self, ResourceKind};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Extensions of the files read from a directory.
const EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// The prefix of a rewritten image: a module in the API server's module store.
pub const MODULE_IMAGE_PREFIX: &str = "skiff://modules/";

/// Where an object was read: a file and the 1-based number of its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The manifest file, as given or found in a given directory.
    pub file: PathBuf,
    /// The document within the file, counting from 1 (empty documents count).
    pub document: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: document {}", self.file.display(), self.document)
    }
}

/// One API object of a manifest, its local images rewritten.
#[derive(Debug)]
pub struct Object {
    /// The object.
    pub value: Value,
    /// Its resource type.
    pub kind: &'static ResourceKind,
    /// `metadata.name`.
    pub name: String,
    /// Where it was read.
    pub origin: Origin,
}

impl Object {
    /// How kubectl names the object: `deployment.apps/web`, `pod/ticker`.
    pub fn display_name(&self) -> String {
        if self.kind.group.is_empty() {
            format!("{}/{}", self.kind.singular, self.name)
        } else {
            format!("{}.{}/{}", self.kind.singular, self.kind.group, self.name)
        }
    }

    /// Where the object goes in the apply order: namespaces first, then what pods refer
    /// to (ConfigMaps, Secrets, ServiceAccounts), then everything else.
    fn rank(&self) -> u8 {
        match self.kind.kind {
            "Namespace" => 0,
            "ConfigMap" | "Secret" | "ServiceAccount" => 1,
            _ => 2,
        }
    }
}

/// A local wasm file that an image named, to upload to the module store.
#[derive(Debug)]
pub struct Module {
    /// The sha256 of its bytes: its name in the module store.
    pub digest: Digest,
    /// The file it was read from.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What a set of `-f` paths holds.
#[derive(Debug, Default)]
pub struct Manifests {
    /// The objects, in the order read.
    pub objects: Vec<Object>,
    /// The modules the objects' images were rewritten to, each once.
    pub modules: Vec<Module>,
}

impl Manifests {
    /// Sorts the objects for applying (see [`Object::rank`]); otherwise in file order.
    pub fn order(&mut self) {
        self.objects.sort_by_key(Object::rank);
    }
}

/// Reads `paths` (files, and directories' manifest files), rewriting local images.
pub fn load(paths: &[PathBuf]) -> anyhow::Result<Manifests> {
    let mut manifests = Manifests::default();
    let mut digests = HashMap::new();
    for file in files(paths)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for (origin, value) in documents(&file, &text)? {
            let mut object = object(value, origin)?;
            rewrite_images(&mut object, &mut manifests.modules, &mut digests)?;
            manifests.objects.push(object);
        }
    }
    Ok(manifests)
}

/// The manifest files of `paths`: files as given, directories' files with a manifest
/// extension in name order.
fn files(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if !meta.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read directory {}", path.display()))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        if found.is_empty() {
            bail!(
                "{}: no manifest files (.yaml, .yml, .json) in this directory",
                path.display()
            );
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// The non-empty documents of a file (JSON is YAML too), `kind: List` items flattened.
fn documents(file: &Path, text: &str) -> anyhow::Result<Vec<(Origin, Value)>> {
    let mut out = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let origin = Origin {
            file: file.to_path_buf(),
            document: index + 1,
        };
        let value = Value::deserialize(document).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        match value {
            Value::Null => {}
            Value::Object(ref map) if map.get("kind").and_then(Value::as_str) == Some("List") => {
                let Some(Value::Array(items)) = map.get("items") else {
                    bail!("{origin}: a List needs an items array");
                };
                out.extend(items.iter().map(|item| (origin.clone(), item.clone())));
            }
            value => out.push((origin, value)),
        }
    }
    Ok(out)
}

/// Checks that `value` is an object of a served kind, with a name.
fn object(value: Value, origin: Origin) -> anyhow::Result<Object> {
    if !value.is_object() {
        bail!("{origin}: expected an object with apiVersion, kind and metadata");
    }
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let Some(api_version) = field("apiVersion") else {
        bail!("{origin}: apiVersion is missing");
    };
    let Some(kind_name) = field("kind") else {
        bail!("{origin}: kind is missing");
    };
    let Some(kind) = kinds::by_kind(&api_version, &kind_name) else {
        bail!(
            "{origin}: unknown kind {kind_name} (apiVersion {api_version}): the server does not serve it"
        );
    };
    let Some(name) = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
    else {
        bail!("{origin}: {kind_name} has no metadata.name");
    };
    Ok(Object {
        value,
        kind,
        name,
        origin,
    })
}

/// Where a kind keeps its pod spec, if it has one.
fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => {
            Some("/spec/template/spec")
        }
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// Whether an image names a local file relative to its manifest.
fn is_relative(image: &str) -> bool {
    image.starts_with("./") || image.starts_with("../")
}

/// Rewrites each relative image of `object`'s containers to its module, reading the file
/// (once per path: `digests` remembers) and adding it to `modules` (once per digest).
fn rewrite_images(
    object: &mut Object,
    modules: &mut Vec<Module>,
    digests: &mut HashMap<PathBuf, (Digest, String)>,
) -> anyhow::Result<()> {
    let Some(pointer) = pod_spec_pointer(object.kind.kind) else {
        return Ok(());
    };
    let base = object
        .origin
        .file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let Some(spec) = object.value.pointer_mut(pointer) else {
        return Ok(());
    };
    for list in ["initContainers", "containers"] {
        let Some(Value::Array(containers)) = spec.get_mut(list) else {
            continue;
        };
        for (index, container) in containers.iter_mut().enumerate() {
            let Some(image) = container.get("image").and_then(Value::as_str) else {
                continue;
            };
            if !is_relative(image) {
                continue;
            }
            let what = || {
                let name = container.get("name").and_then(Value::as_str).map_or_else(
                    || format!("{list}[{index}]"),
                    |n| format!("container {n:?}"),
                );
                format!(
                    "{}: {} {}, {name}",
                    object.origin, object.kind.kind, object.name
                )
            };
            // `components` drops the `.` of `./app.wasm`, for tidy messages.
            let path: PathBuf = base.join(image).components().collect();
            let (digest, file_name) = match digests.get(&path) {
                Some(known) => known.clone(),
                None => {
                    let module = read_module(&path, image)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", what()))?;
                    let file_name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let digest = module.digest.clone();
                    if !modules.iter().any(|m| m.digest == digest) {
                        modules.push(module);
                    }
                    digests.insert(path.clone(), (digest.clone(), file_name.clone()));
                    (digest, file_name)
                }
            };
            container["image"] =
                Value::String(format!("{MODULE_IMAGE_PREFIX}{file_name}@{digest}"));
        }
    }
    Ok(())
}

/// Reads and checks the wasm file an image names.
fn read_module(path: &Path, image: &str) -> anyhow::Result<Module> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("image {image}: {} does not exist", path.display())
        }
        Err(e) => bail!("image {image}: cannot read {}: {e}", path.display()),
    };
    if !bytes.starts_with(WASM_MAGIC) {
        bail!(
            "image {image}: {} is not a WebAssembly binary (it does not start with \\0asm)",
            path.display()
        );
    }
    Ok(Module {
        digest: Digest::of(&bytes),
        path: path.to_path_buf(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &[u8] = b"\0asm\x01\0\0\0test";

    fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, contents).expect("write");
        path
    }

    fn error(path: &Path) -> String {
        format!(
            "{:#}",
            load(&[path.to_path_buf()]).expect_err("should fail")
        )
    }

    #[test]
    fn documents_lists_and_empty_documents() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write(
            dir.path(),
            "all.yaml",
            b"---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n\
              ---\n---\napiVersion: v1\nkind: List\nitems:\n\
              - {apiVersion: v1, kind: Namespace, metadata: {name: team}}\n\
              - {apiVersion: v1, kind: Secret, metadata: {name: s}}\n",
        );
        let json = write(
            dir.path(),
            "pod.json",
            br#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"containers": [{"name": "c", "image": "/abs/app.wasm"}]}}"#,
        );
        let mut manifests = load(&[file.clone(), json]).expect("load");
        let names: Vec<String> = manifests.objects.iter().map(Object::display_name).collect();
        assert_eq!(
            names,
            ["configmap/a", "namespace/team", "secret/s", "pod/p"]
        );
        assert_eq!(manifests.objects[0].origin.document, 2);
        assert_eq!(manifests.objects[1].origin.document, 4);
        assert!(manifests.modules.is_empty());
        manifests.order();
        let ordered: Vec<String> = manifests.objects.iter().map(Object::display_name).collect();
        assert_eq!(
            ordered,
            ["namespace/team", "configmap/a", "secret/s", "pod/p"]
        );
    }

    #[test]
    fn directories_are_read_in_name_order_by_extension() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cm =
            |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}}}\n");
        write(dir.path(), "b.yml", cm("b").as_bytes());
        write(dir.path(), "a.yaml", cm("a").as_bytes());
        write(
            dir.path(),
            "c.JSON",
            br#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}"#,
        );
        write(dir.path(), "notes.txt", b"not a manifest");
        write(dir.path(), "sub/d.yaml", cm("d").as_bytes());
        let manifests = load(&[dir.path().to_path_buf()]).expect("load");
        let names: Vec<&str> = manifests.objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn relative_images_become_cluster_modules() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "bin/app.wasm", MODULE);
        write(dir.path(), "manifests/init.wasm", b"\0asm\x01\0\0\0init");
        let file = write(
            dir.path(),
            "manifests/app.yaml",
            b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n\
              \x20     initContainers: [{name: init, image: ./init.wasm}]\n\
              \x20     containers:\n\
              \x20     - {name: main, image: ../bin/app.wasm}\n\
              \x20     - {name: side, image: ghcr.io/a/b:1}\n\
              ---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n\
              \x20     containers: [{name: main, image: ../bin/app.wasm}]\n",
        );
        let manifests = load(&[file]).expect("load");
        let digest = Digest::of(MODULE).to_string();
        let web = &manifests.objects[0].value["spec"]["template"]["spec"];
        assert_eq!(
            web["containers"][0]["image"],
            format!("skiff://modules/app.wasm@{digest}")
        );
        assert_eq!(web["containers"][1]["image"], "ghcr.io/a/b:1");
        let init = web["initContainers"][0]["image"].as_str().expect("image");
        assert!(
            init.starts_with("skiff://modules/init.wasm@sha256:"),
            "{init}"
        );
        let job = &manifests.objects[1].value["spec"]["template"]["spec"];
        assert_eq!(
            job["containers"][0]["image"],
            format!("skiff://modules/app.wasm@{digest}")
        );
        // Each module once, with its bytes.
        assert_eq!(manifests.modules.len(), 2);
        let app = manifests
            .modules
            .iter()
            .find(|m| m.digest.to_string() == digest)
            .expect("app module");
        assert_eq!(app.bytes, MODULE);
    }

    #[test]
    fn pods_and_cron_jobs_keep_their_specs_where_kubernetes_does() {
        assert_eq!(pod_spec_pointer("Pod"), Some("/spec"));
        assert_eq!(pod_spec_pointer("StatefulSet"), Some("/spec/template/spec"));
        assert_eq!(pod_spec_pointer("DaemonSet"), Some("/spec/template/spec"));
        assert_eq!(
            pod_spec_pointer("CronJob"),
            Some("/spec/jobTemplate/spec/template/spec")
        );
        assert_eq!(pod_spec_pointer("ConfigMap"), None);
        assert!(is_relative("./a.wasm") && is_relative("../a.wasm"));
        assert!(!is_relative("/a.wasm") && !is_relative("a.wasm") && !is_relative(".a.wasm"));
    }

    #[test]
    fn errors_name_the_file_document_and_container() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.yaml");
        let text = error(&missing);
        assert!(text.contains(&missing.display().to_string()), "{text}");

        let absent = write(
            dir.path(),
            "absent.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n\
              apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: main, image: ./absent.wasm}]\n",
        );
        let text = error(&absent);
        for part in [
            &format!("{}: document 2", absent.display()),
            "Pod p",
            "container \"main\"",
            "./absent.wasm",
            &dir.path().join("absent.wasm").display().to_string(),
            "does not exist",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }

        write(dir.path(), "text.wasm", b"not wasm");
        let not_wasm = write(
            dir.path(),
            "text.yaml",
            b"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: main, image: ./text.wasm}]\n",
        );
        assert!(error(&not_wasm).contains("not a WebAssembly binary"));

        let unknown = write(
            dir.path(),
            "unknown.yaml",
            b"apiVersion: apps/v1\nkind: Gizmo\nmetadata: {name: g}\n",
        );
        let text = error(&unknown);
        assert!(
            text.contains("unknown kind Gizmo") && text.contains("document 1"),
            "{text}"
        );

        let broken = write(dir.path(), "broken.yaml", b"a: 1\n---\nkind: [unclosed\n");
        let text = error(&broken);
        assert!(
            text.contains(&format!("{}: document 2", broken.display())),
            "{text}"
        );

        let nameless = write(
            dir.path(),
            "nameless.yaml",
            b"---\n---\napiVersion: v1\nkind: ConfigMap\n",
        );
        let text = error(&nameless);
        assert!(
            text.contains("document 2") && text.contains("metadata.name"),
            "{text}"
        );

        let empty_dir = dir.path().join("empty");
        std::fs::create_dir(&empty_dir).expect("mkdir");
        assert!(error(&empty_dir).contains("no manifest files"));
    }
}
