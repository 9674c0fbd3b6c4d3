//! The precompiled-artifact cache: compile once per digest, reuse across runtimes
//! (processes), survive a corrupt artifact.

use skiff_runtime::{LoadSource, Runtime, RuntimeConfig};
use skiff_test_programs as programs;
use std::path::Path;

fn runtime_with_cache(dir: &Path) -> Runtime {
    Runtime::new(RuntimeConfig {
        max_instances: 8,
        cache_dir: Some(dir.to_path_buf()),
        ..RuntimeConfig::default()
    })
    .expect("runtime")
}

#[test]
fn second_runtime_loads_without_compiling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = runtime_with_cache(dir.path());
    assert_eq!(
        first.load_file(programs::HELLO).expect("load").source(),
        LoadSource::Compiled
    );
    assert_eq!(
        first.load_file(programs::HELLO).expect("load").source(),
        LoadSource::Memory
    );
    drop(first);
    let second = runtime_with_cache(dir.path());
    assert_eq!(
        second.load_file(programs::HELLO).expect("load").source(),
        LoadSource::DiskCache
    );
    assert_eq!(
        second
            .load_file(programs::HTTP_HELLO)
            .expect("load")
            .source(),
        LoadSource::Compiled
    );
}

#[test]
fn corrupt_artifact_is_recompiled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let digest = runtime_with_cache(dir.path())
        .load_file(programs::HELLO)
        .expect("load")
        .digest();
    // Everything that mapped the artifact is gone; now damage it on disk.
    let artifact = walk(dir.path())
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&digest.hex()))
        .expect("an artifact named by the digest");
    std::fs::write(&artifact, b"garbage").expect("corrupt it");
    let again = runtime_with_cache(dir.path())
        .load_file(programs::HELLO)
        .expect("load despite a corrupt artifact");
    assert_eq!(again.source(), LoadSource::Compiled);
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
