//! Acknowledged writes survive SIGKILL.
//!
//! The parent test runs this same test binary again as a child, filtered to
//! [`child_writes_until_killed`] and told the data directory through [`DIR_VAR`]. The child
//! writes from 64 tasks at once and prints `ack KEY REVISION` for each write as soon as the
//! store acknowledges it. The parent reads some hundreds of acks, kills the child with
//! SIGKILL mid-stream, reopens the file and checks every acknowledged write.

use crate::{WAIT, db_path, events_through};
use bytes::Bytes;
use skiff_controlplane::store::{Config, RedbStore, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Carries the data directory to the child; without it the child test does nothing.
const DIR_VAR: &str = "SKIFF_STORE_CRASH_TEST_DIR";
const CHILD_TEST: &str = "crash::child_writes_until_killed";
const TASKS: usize = 64;
/// Acks the parent waits for before killing the child.
const ACKS_BEFORE_KILL: usize = 600;

/// The child: many concurrent writers, each write acknowledged on stdout. Each task creates
/// a key and then updates it, so acks cover both kinds of write. Stops by itself after
/// [`WAIT`] if nobody kills it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_writes_until_killed() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let path = std::path::Path::new(&dir).join("store.redb");
    let store = Arc::new(RedbStore::open(path, Config::default()).expect("open store"));
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let store = store.clone();
        tasks.spawn(async move {
            for i in 0.. {
                if tokio::time::Instant::now() > deadline {
                    break;
                }
                let key = format!("/crash/{task:02}/{i:06}");
                let kv = store.create(&key, Bytes::from(key.clone())).await;
                let kv = kv.expect("create");
                println!("ack {} {}", kv.key, kv.mod_revision);
                let kv = store.update(&key, Bytes::from_static(b"updated"), kv.mod_revision);
                let kv = kv.await.expect("update");
                println!("ack {} {}", kv.key, kv.mod_revision);
            }
        });
    }
    tasks.join_all().await;
}

/// Kills the child if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start child");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().expect("child stdout");

    // Read whole lines on a thread, so that every wait here has a timeout. A line cut by
    // the kill (no newline) was never acknowledged, and is dropped.
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.ends_with('\n') => {
                    if lines.send(line).is_err() {
                        break;
                    }
                }
                Ok(_) => break,
            }
        }
    });
    let mut acks: Vec<(String, u64)> = Vec::new();
    let deadline = Instant::now() + WAIT;
    while acks.len() < ACKS_BEFORE_KILL {
        let wait = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(wait) {
            Ok(line) => acks.extend(parse_ack(&line)),
            Err(e) => panic!("child stopped acking after {} acks: {e}", acks.len()),
        }
    }

    let killed = Command::new("kill")
        .args(["-KILL", &child.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success(), "kill -KILL failed");
    let status = wait_for_exit(&mut child.0);
    assert_eq!(status.signal(), Some(9), "child was not killed: {status:?}");
    // Lines written before the kill are acknowledged writes too.
    loop {
        match received.recv_timeout(WAIT) {
            Ok(line) => acks.extend(parse_ack(&line)),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("child stdout did not close"),
        }
    }

    let runtime = tokio::runtime::Runtime::new().expect("tokio");
    runtime.block_on(check_after_crash(&dir, acks));
}

/// `ack KEY REVISION`, from the child.
fn parse_ack(line: &str) -> Option<(String, u64)> {
    let mut words = line.split_whitespace();
    if words.next()? != "ack" {
        return None;
    }
    let key = words.next()?.to_owned();
    let revision = words.next()?.parse().expect("ack revision");
    Some((key, revision))
}

fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return status;
        }
        assert!(Instant::now() < deadline, "killed child did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

async fn check_after_crash(dir: &tempfile::TempDir, acks: Vec<(String, u64)>) {
    let acked = acks.len();
    assert!(acked >= ACKS_BEFORE_KILL);
    let by_revision: BTreeMap<u64, String> = acks.iter().map(|(k, r)| (*r, k.clone())).collect();
    assert_eq!(by_revision.len(), acked, "two acks with one revision");

    let store = RedbStore::open(db_path(dir), Config::default()).expect("reopen after kill");
    let revisions = store.revisions().await.expect("revisions");
    let max_acked = *by_revision.keys().last().expect("acks");
    assert!(
        revisions.current >= max_acked,
        "{revisions:?} < {max_acked}"
    );

    // Every acknowledged write is there, with its revision.
    for (key, revision) in &acks {
        let kv = store
            .get(key)
            .await
            .expect("get")
            .expect("acked key present");
        assert!(
            kv.create_revision <= *revision && *revision <= kv.mod_revision,
            "{key}"
        );
    }
    // The history holds one event per revision, without holes, and each acked revision is
    // the write that was acked.
    let from = revisions.compacted.max(1);
    let mut watch = store.watch("", from).await.expect("watch");
    let events = tokio::time::timeout(WAIT, events_through(&mut watch, revisions.current))
        .await
        .expect("replay timed out");
    let seen: Vec<u64> = events.iter().map(|e| e.revision).collect();
    assert_eq!(seen, (from + 1..=revisions.current).collect::<Vec<_>>());
    for event in &events {
        if let Some(key) = by_revision.get(&event.revision) {
            assert_eq!(&event.kv.key, key, "revision {}", event.revision);
        }
    }
    // Values and revisions agree with the history: every key's mod revision is distinct.
    let list = store.list("").await.expect("list");
    let mods: BTreeSet<u64> = list.items.iter().map(|kv| kv.mod_revision).collect();
    assert_eq!(mods.len(), list.items.len());
    assert!(mods.iter().all(|r| *r <= revisions.current));

    // The store takes new writes at the next revision.
    let next = store
        .create("/after-crash", Bytes::new())
        .await
        .expect("write after crash");
    assert_eq!(next.mod_revision, revisions.current + 1);
    eprintln!(
        "crash test: {acked} acks, killed at revision >= {max_acked}, recovered at {}",
        revisions.current
    );
}
