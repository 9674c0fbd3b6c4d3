//! Container logs: both streams captured as lines, a flood stays bounded on disk, and a
//! follower sees lines live.

use crate::{WAIT, argv, load, runtime};
use skiff_runtime::{CommandSpec, ContainerLog, LogConfig, LogStream, Outcome, Output};
use skiff_test_programs as programs;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_and_stderr_are_separate_timestamped_lines() {
    let rt = runtime();
    let log = ContainerLog::in_memory();
    let spec = CommandSpec {
        args: argv(&["0"]),
        output: Output::Log(log.clone()),
        ..CommandSpec::default()
    };
    let outcome = rt
        .spawn(&load(&rt, programs::P1_EXIT_CODE), spec)
        .expect("spawn")
        .wait()
        .await;
    assert_eq!(outcome, Outcome::Exited(0));
    let lines = log.lines().expect("lines");
    let by_stream = |s| {
        lines
            .iter()
            .find(|l| l.stream == s)
            .expect("a line")
            .clone()
    };
    assert_eq!(&by_stream(LogStream::Stdout).text[..], b"exiting with 0");
    assert_eq!(&by_stream(LogStream::Stderr).text[..], b"to stderr");
    assert!(lines.windows(2).all(|w| w[0].time <= w[1].time));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_stays_bounded_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (max_file_bytes, max_files) = (64 * 1024, 3);
    let log = ContainerLog::open(LogConfig {
        file: Some(dir.path().join("0.log")),
        max_file_bytes,
        max_files,
    })
    .expect("open log");
    let rt = runtime();
    let spec = CommandSpec {
        args: argv(&["200000"]),
        output: Output::Log(log.clone()),
        ..CommandSpec::default()
    };
    let outcome = tokio::time::timeout(
        WAIT,
        rt.spawn(&load(&rt, programs::P1_FLOOD), spec)
            .expect("spawn")
            .wait(),
    )
    .await
    .expect("flood ends");
    assert_eq!(outcome, Outcome::Exited(0));
    let on_disk: u64 = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").metadata().expect("meta").len())
        .sum();
    // ~14 MB were written; at most the rotation budget (plus one line) is kept.
    assert!(
        on_disk <= max_file_bytes * max_files as u64 + 256,
        "{on_disk} bytes kept"
    );
    let lines = log.lines().expect("lines");
    assert!(
        lines
            .last()
            .expect("a line")
            .text
            .starts_with(b"line 199999 ")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_see_output_live() {
    let rt = runtime();
    let log = ContainerLog::in_memory();
    let mut follower = log.follow();
    let spec = CommandSpec {
        args: argv(&["3"]),
        output: Output::Log(log.clone()),
        ..CommandSpec::default()
    };
    let instance = rt
        .spawn(&load(&rt, programs::P1_FLOOD), spec)
        .expect("spawn");
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = tokio::time::timeout(WAIT, follower.recv())
            .await
            .expect("a line arrives")
            .expect("not lagged");
        seen.push(String::from_utf8_lossy(&line.text).into_owned());
    }
    assert!(seen[2].starts_with("line 2 "), "{seen:?}");
    assert_eq!(instance.wait().await, Outcome::Exited(0));
}
