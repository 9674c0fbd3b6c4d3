//! Unit tests of [`super`]: the volume rules, one test per rule.
use super::*;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, EmptyDirVolumeSource, PersistentVolumeClaimVolumeSource,
    PodSpec, Secret, SecretVolumeSource, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::fs;

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some("ns".into()),
        name: Some(name.into()),
        ..ObjectMeta::default()
    }
}

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: meta(name),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..ConfigMap::default()
    }
}

fn secret(name: &str, data: &[(&str, &[u8])]) -> Secret {
    Secret {
        metadata: meta(name),
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.to_vec())))
                .collect(),
        ),
        ..Secret::default()
    }
}

fn pod(volumes: Vec<Volume>) -> Pod {
    Pod {
        metadata: meta("p"),
        spec: Some(PodSpec {
            volumes: Some(volumes),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }
}

fn cm_volume(name: &str, cm: &str, items: &[(&str, &str)], optional: bool) -> Volume {
    let items = items
        .iter()
        .map(|(key, path)| KeyToPath {
            key: key.to_string(),
            path: path.to_string(),
            mode: None,
        })
        .collect();
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: cm.into(),
            items: Some(items),
            optional: Some(optional),
            default_mode: None,
        }),
        ..Volume::default()
    }
}

fn secret_volume(name: &str, secret: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

fn host_volume(name: &str, path: &Path, type_: Option<&str>) -> Volume {
    Volume {
        name: name.into(),
        host_path: Some(HostPathVolumeSource {
            path: path.display().to_string(),
            type_: type_.map(Into::into),
        }),
        ..Volume::default()
    }
}

fn mount(volume: &str, at: &str, read_only: bool, sub_path: Option<&str>) -> VolumeMount {
    VolumeMount {
        name: volume.into(),
        mount_path: at.into(),
        read_only: Some(read_only),
        sub_path: sub_path.map(Into::into),
        ..VolumeMount::default()
    }
}

fn container(mounts: Vec<VolumeMount>) -> Container {
    Container {
        name: "main".into(),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

fn no_sources() -> Sources {
    Sources::from_objects(vec![], vec![])
}

fn read(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn prepare_err(volumes: Vec<Volume>, sources: &Sources, allow: &[PathBuf]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    PodVolumes::prepare(&pod(volumes), dir.path(), sources, allow)
        .expect_err("prepare must fail")
        .to_string()
}

#[test]
fn empty_dirs_are_shared_and_survive_re_prepare() {
    let dir = tempfile::tempdir().expect("tempdir");
    let no_source = Volume {
        name: "bare".into(),
        ..Volume::default()
    };
    let pod = pod(vec![empty_dir("scratch"), no_source]);
    let volumes = PodVolumes::prepare(&pod, dir.path(), &no_sources(), &[]).expect("prepare");
    let a = volumes
        .mounts(&container(vec![mount("scratch", "/a", false, None)]))
        .expect("mounts");
    let b = volumes
        .mounts(&container(vec![mount("scratch", "/b", true, None)]))
        .expect("mounts");
    assert_eq!(a[0].host, b[0].host);
    assert_eq!(a[0].host, dir.path().join("volumes/scratch"));
    assert_eq!((a[0].guest.as_str(), a[0].read_only), ("/a", false));
    assert_eq!((b[0].guest.as_str(), b[0].read_only), ("/b", true));
    assert!(dir.path().join("volumes/bare").is_dir());

    fs::write(a[0].host.join("state"), "kept").expect("write");
    let again = PodVolumes::prepare(&pod, dir.path(), &no_sources(), &[]).expect("prepare");
    let c = again
        .mounts(&container(vec![mount("scratch", "/c", false, None)]))
        .expect("mounts");
    assert_eq!(read(c[0].host.join("state")), "kept");
}

#[test]
fn config_map_volumes_hold_one_file_per_key_and_are_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cm = config_map("cfg", &[("a.conf", "A"), ("b.conf", "B")]);
    cm.binary_data = Some([("blob".to_string(), ByteString(vec![0, 1, 2]))].into());
    let sources = Sources::from_objects(vec![cm], vec![]);
    let pod = pod(vec![cm_volume("config", "cfg", &[], false)]);
    let volumes = PodVolumes::prepare(&pod, dir.path(), &sources, &[]).expect("prepare");
    let preopens = volumes
        .mounts(&container(vec![mount("config", "/etc/app", false, None)]))
        .expect("mounts");
    assert!(preopens[0].read_only);
    let host = &preopens[0].host;
    assert_eq!(read(host.join("a.conf")), "A");
    assert_eq!(read(host.join("b.conf")), "B");
    assert_eq!(fs::read(host.join("blob")).expect("blob"), [0, 1, 2]);
}

#[test]
fn items_select_keys_and_name_their_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = Sources::from_objects(vec![config_map("cfg", &[("a", "A"), ("b", "B")])], vec![]);
    let items = [("a", "sub/renamed"), ("a", "./copy"), ("missing", "m")];
    let pod = pod(vec![cm_volume("config", "cfg", &items, true)]);
    PodVolumes::prepare(&pod, dir.path(), &sources, &[]).expect("prepare");
    let root = dir.path().join("volumes/config");
    assert_eq!(read(root.join("sub/renamed")), "A");
    assert_eq!(read(root.join("copy")), "A");
    assert!(!root.join("b").exists() && !root.join("m").exists());

    let not_optional = vec![cm_volume("config", "cfg", &[("missing", "m")], false)];
    let err = prepare_err(not_optional, &sources, &[]);
    assert_eq!(
        err,
        r#"configmap "cfg" references non-existent key: missing"#
    );
    let escaping = vec![cm_volume("config", "cfg", &[("a", "../x")], false)];
    let err = prepare_err(escaping, &sources, &[]);
    assert!(err.contains(r#"item path "../x""#), "{err}");
}

#[test]
fn missing_sources_fail_unless_optional() {
    let err = prepare_err(vec![cm_volume("c", "nope", &[], false)], &no_sources(), &[]);
    assert_eq!(err, r#"configmap "nope" not found"#);
    let err = prepare_err(vec![secret_volume("s", "creds")], &no_sources(), &[]);
    assert_eq!(err, r#"secret "creds" not found"#);

    let dir = tempfile::tempdir().expect("tempdir");
    let pod = pod(vec![cm_volume("c", "nope", &[], true)]);
    PodVolumes::prepare(&pod, dir.path(), &no_sources(), &[]).expect("optional");
    let root = dir.path().join("volumes/c");
    assert_eq!(fs::read_dir(root).expect("empty dir").count(), 0);
}

#[test]
fn secret_volumes_hold_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = Sources::from_objects(vec![], vec![secret("creds", &[("key", &[0xff, 0])])]);
    let pod = pod(vec![secret_volume("s", "creds")]);
    let volumes = PodVolumes::prepare(&pod, dir.path(), &sources, &[]).expect("prepare");
    let preopens = volumes
        .mounts(&container(vec![mount("s", "/secrets", false, None)]))
        .expect("mounts");
    assert!(preopens[0].read_only);
    assert_eq!(
        fs::read(preopens[0].host.join("key")).expect("key"),
        [0xff, 0]
    );
}

#[test]
fn refresh_rewrites_changed_added_and_removed_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let before = Sources::from_objects(
        vec![config_map("cfg", &[("a", "1"), ("gone", "x")])],
        vec![],
    );
    let pod = pod(vec![cm_volume("config", "cfg", &[], false), empty_dir("e")]);
    let volumes = PodVolumes::prepare(&pod, dir.path(), &before, &[]).expect("prepare");
    let root = dir.path().join("volumes/config");
    assert!(volumes.refresh(&before).is_empty(), "nothing changed yet");

    let after = Sources::from_objects(vec![config_map("cfg", &[("a", "2"), ("new", "n")])], vec![]);
    assert_eq!(volumes.refresh(&after), ["config"]);
    assert_eq!(read(root.join("a")), "2");
    assert_eq!(read(root.join("new")), "n");
    assert!(!root.join("gone").exists());
    let mut names: Vec<_> = fs::read_dir(&root)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "new"], "no temporary files left");

    // The source deleted while not optional: the volume keeps its files.
    assert!(volumes.refresh(&no_sources()).is_empty());
    assert_eq!(read(root.join("a")), "2");
}

#[test]
fn uses_matches_kind_namespace_and_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = Sources::from_objects(vec![config_map("cfg", &[])], vec![]);
    let pod = pod(vec![cm_volume("config", "cfg", &[], false)]);
    let volumes = PodVolumes::prepare(&pod, dir.path(), &sources, &[]).expect("prepare");
    let source = |kind, namespace: &str, name: &str| SourceRef {
        kind,
        namespace: namespace.into(),
        name: name.into(),
    };
    assert!(volumes.uses(&source(SourceKind::ConfigMap, "ns", "cfg")));
    assert!(!volumes.uses(&source(SourceKind::Secret, "ns", "cfg")));
    assert!(!volumes.uses(&source(SourceKind::ConfigMap, "other", "cfg")));
    assert!(!volumes.uses(&source(SourceKind::ConfigMap, "ns", "x")));
}

#[test]
fn host_paths_must_be_allowed_directories() {
    let host = tempfile::tempdir().expect("tempdir");
    let allowed = host.path().join("data");
    fs::create_dir(&allowed).expect("mkdir");
    fs::create_dir(host.path().join("data2")).expect("mkdir");
    fs::write(allowed.join("file"), "f").expect("write");
    let allow = vec![allowed.clone()];
    let ok = |path: &Path, type_| {
        let dir = tempfile::tempdir().expect("tempdir");
        let pod = pod(vec![host_volume("h", path, type_)]);
        let volumes =
            PodVolumes::prepare(&pod, dir.path(), &no_sources(), &allow).expect("allowed");
        let preopens = volumes.mounts(&container(vec![mount("h", "/h", false, None)]));
        preopens.expect("mounts").remove(0).host
    };
    let canonical_allowed = allowed.canonicalize().expect("canonical");
    assert_eq!(ok(&allowed, None), canonical_allowed);
    assert_eq!(
        ok(&allowed.join("new/dir"), Some("DirectoryOrCreate")),
        canonical_allowed.join("new/dir")
    );
    assert!(allowed.join("new/dir").is_dir());

    let fail = |path: &Path, type_| {
        prepare_err(vec![host_volume("h", path, type_)], &no_sources(), &allow)
    };
    let sibling = host.path().join("data2");
    assert_eq!(
        fail(&sibling, None),
        format!(
            "hostPath {} is not allowed on this node (allowed: {})",
            sibling.display(),
            allowed.display()
        )
    );
    assert!(fail(&allowed.join("absent"), Some("Directory")).ends_with("does not exist"));
    let file = fail(&allowed.join("file"), None);
    assert!(file.contains("is not a directory"), "{file}");
    assert!(fail(&allowed.join("file"), Some("File")).contains("type File is not supported"));
    assert!(fail(&allowed.join("../data2"), None).contains("without \"..\""));
    let empty = prepare_err(vec![host_volume("h", &allowed, None)], &no_sources(), &[]);
    assert!(empty.ends_with("(allowed: none)"), "{empty}");

    #[cfg(unix)]
    {
        let link = allowed.join("escape");
        std::os::unix::fs::symlink(&sibling, &link).expect("symlink");
        assert!(fail(&link, None).contains("is not allowed"));
        assert!(fail(&link.join("sub"), Some("DirectoryOrCreate")).contains("is not allowed"));
        assert!(!sibling.join("sub").exists());
    }
}

#[test]
fn other_volume_types_are_refused_by_name() {
    let pvc = Volume {
        name: "data".into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: "claim".into(),
            read_only: None,
        }),
        ..Volume::default()
    };
    let err = prepare_err(vec![pvc], &no_sources(), &[]);
    assert_eq!(
        err,
        r#"volume type persistentVolumeClaim is not supported in Skiff (volume "data")"#
    );
    let err = prepare_err(vec![empty_dir("../x")], &no_sources(), &[]);
    assert!(err.contains("not a valid directory name"), "{err}");
}

#[test]
fn mounts_check_volume_names_and_sub_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sources = Sources::from_objects(vec![config_map("cfg", &[("file", "x")])], vec![]);
    let pod = pod(vec![empty_dir("e"), cm_volume("c", "cfg", &[], false)]);
    let volumes = PodVolumes::prepare(&pod, dir.path(), &sources, &[]).expect("prepare");
    let mounts = |m: VolumeMount| volumes.mounts(&container(vec![m]));

    let sub = mounts(mount("e", "/logs", false, Some("logs/app"))).expect("subPath");
    let expected = dir
        .path()
        .join("volumes/e/logs/app")
        .canonicalize()
        .expect("created");
    assert_eq!(sub[0].host, expected);

    let err = |m| mounts(m).expect_err("must fail").to_string();
    assert_eq!(
        err(mount("nope", "/x", false, None)),
        r#"volumeMount "nope" does not name a volume of the pod"#
    );
    assert!(err(mount("e", "/x", false, Some("../up"))).contains("must be relative"));
    assert!(err(mount("e", "/x", false, Some("/abs"))).contains("must be relative"));
    assert!(err(mount("c", "/x", false, Some("file"))).contains("is not a directory"));
    assert!(err(mount("c", "/x", false, Some("absent"))).contains("is not a directory"));
    let expr = VolumeMount {
        sub_path_expr: Some("$(POD)".into()),
        ..mount("e", "/x", false, None)
    };
    assert!(err(expr).contains("subPathExpr is not supported"));

    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("volumes/e/out");
        std::os::unix::fs::symlink(outside.path(), link).expect("symlink");
        assert!(err(mount("e", "/x", false, Some("out"))).contains("leads outside"));
        assert!(err(mount("e", "/x", false, Some("out/new"))).contains("leads outside"));
        assert!(
            !outside.path().join("new").exists(),
            "nothing created outside"
        );
    }
}

#[test]
fn remove_deletes_the_pod_directory_and_tolerates_absence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pod_dir = dir.path().join("pod");
    let pod = pod(vec![empty_dir("e")]);
    PodVolumes::prepare(&pod, &pod_dir, &no_sources(), &[]).expect("prepare");
    fs::write(pod_dir.join("volumes/e/f"), "x").expect("write");
    remove(&pod_dir).expect("remove");
    assert!(!pod_dir.exists());
    remove(&pod_dir).expect("absent is fine");
}
