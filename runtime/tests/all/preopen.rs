//! Preopened directories: deny by default, read-only holds, read-write writes.

use crate::{argv, run, runtime};
use skiff_runtime::{CommandSpec, Outcome, Preopen};
use skiff_test_programs as programs;

fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("greeting.txt"), "hello from the host\n").expect("write");
    dir
}

fn spec(dir: Option<(&std::path::Path, bool)>, args: &[&str]) -> CommandSpec {
    CommandSpec {
        args: argv(args),
        preopens: dir
            .map(|(host, read_only)| Preopen {
                host: host.to_path_buf(),
                guest: "/data".into(),
                read_only,
            })
            .into_iter()
            .collect(),
        ..CommandSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_files_unless_granted() {
    let dir = data_dir();
    let (outcome, lines) = run(
        &runtime(),
        programs::P1_READ_FILE,
        spec(None, &["/data/greeting.txt"]),
    )
    .await;
    assert_eq!(outcome, Outcome::Exited(1));
    assert!(lines[0].starts_with("read /data/greeting.txt"), "{lines:?}");
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_dir_can_be_read_not_written() {
    let dir = data_dir();
    for program in [programs::P1_READ_FILE, programs::P2_READ_FILE] {
        let (outcome, lines) = run(
            &runtime(),
            program,
            spec(
                Some((dir.path(), true)),
                &["/data/greeting.txt", "scribble"],
            ),
        )
        .await;
        assert_eq!(outcome, Outcome::Exited(1), "{program}: {lines:?}");
        assert_eq!(lines[0], "hello from the host");
        assert!(
            lines[1].starts_with("write /data/greeting.txt.out"),
            "{lines:?}"
        );
        assert!(!dir.path().join("greeting.txt.out").exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_dir_can_be_written() {
    let dir = data_dir();
    let (outcome, lines) = run(
        &runtime(),
        programs::P2_READ_FILE,
        spec(
            Some((dir.path(), false)),
            &["/data/greeting.txt", "scribble"],
        ),
    )
    .await;
    assert_eq!(outcome, Outcome::Exited(0), "{lines:?}");
    assert_eq!(lines, vec!["hello from the host", "wrote"]);
    let written = std::fs::read_to_string(dir.path().join("greeting.txt.out")).expect("written");
    assert_eq!(written, "scribble");
}
