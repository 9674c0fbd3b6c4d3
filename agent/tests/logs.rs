//! The agent's container logs over real HTTP: a [`LogRegistry`] on a temporary root,
//! served by `endpoint::serve` on `127.0.0.1:0`, read with a hyper client the way the API
//! server proxies `kubectl logs`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use skiff_agent::endpoint;
use skiff_agent::logs::{LogRegistry, PodLogKey};
use skiff_runtime::{ContainerLog, LogLine, LogStream};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// Every wait is bounded by this, so a hang fails the test instead.
const WAIT: Duration = Duration::from_secs(20);

/// An agent server over a registry in a temporary directory; stopped on drop.
struct Agent {
    addr: SocketAddr,
    logs: LogRegistry,
    client: Client<HttpConnector, Empty<Bytes>>,
    shutdown: CancellationToken,
    _root: tempfile::TempDir,
}

impl Agent {
    async fn start() -> Self {
        let root = tempfile::tempdir().expect("tempdir");
        Self::start_in(root).await
    }

    async fn start_in(root: tempfile::TempDir) -> Self {
        let logs = LogRegistry::new(root.path().join("pods")).expect("registry");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        tokio::spawn(endpoint::serve(listener, logs.clone(), shutdown.clone()));
        Self {
            addr,
            logs,
            client: Client::builder(TokioExecutor::new()).build_http(),
            shutdown,
            _root: root,
        }
    }

    async fn request(&self, path_and_query: &str) -> hyper::Response<Incoming> {
        let uri = format!("http://{}{path_and_query}", self.addr);
        tokio::time::timeout(WAIT, self.client.get(uri.parse().expect("uri")))
            .await
            .expect("answered in time")
            .expect("request")
    }

    /// GETs and reads the whole body.
    async fn get(&self, path_and_query: &str) -> (StatusCode, String) {
        let response = self.request(path_and_query).await;
        let status = response.status();
        let body = tokio::time::timeout(WAIT, response.into_body().collect())
            .await
            .expect("the body ends")
            .expect("body")
            .to_bytes();
        (status, String::from_utf8(body.to_vec()).expect("utf-8"))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn pod(name: &str, uid: &str) -> PodLogKey {
    PodLogKey {
        namespace: "default".to_string(),
        name: name.to_string(),
        uid: uid.to_string(),
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

fn entry(secs: u64, partial: bool, text: &str) -> LogLine {
    LogLine {
        time: at(secs),
        stream: LogStream::Stdout,
        partial,
        text: Bytes::copy_from_slice(text.as_bytes()),
    }
}

/// Writes `one`..`five` at seconds 1..5 to a new run of `web/app`.
fn five_lines(logs: &LogRegistry) -> ContainerLog {
    let log = logs.start(&pod("web", "u1"), "app", 0).expect("start");
    log.append(
        ["one", "two", "three", "four", "five"]
            .iter()
            .enumerate()
            .map(|(i, text)| entry(i as u64 + 1, false, text)),
    );
    log
}

const LOGS: &str = "/containerLogs/default/web/app";

#[tokio::test]
async fn reads_whole_tail_since_timestamps_and_limited() {
    let agent = Agent::start().await;
    five_lines(&agent.logs);

    let (status, body) = agent.get(LOGS).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "one\ntwo\nthree\nfour\nfive\n");

    assert_eq!(
        agent.get(&format!("{LOGS}?tailLines=2")).await.1,
        "four\nfive\n"
    );
    assert_eq!(agent.get(&format!("{LOGS}?tailLines=0")).await.1, "");
    let since = humantime::format_rfc3339_seconds(at(4)).to_string();
    assert_eq!(
        agent.get(&format!("{LOGS}?sinceTime={since}")).await.1,
        "four\nfive\n"
    );
    assert_eq!(
        agent
            .get(&format!("{LOGS}?sinceTime={since}&tailLines=5"))
            .await
            .1,
        "four\nfive\n"
    );
    // Every line was written long before the last minute.
    assert_eq!(agent.get(&format!("{LOGS}?sinceSeconds=60")).await.1, "");
    assert_eq!(
        agent
            .get(&format!("{LOGS}?timestamps=true&tailLines=1"))
            .await
            .1,
        "2023-11-14T22:13:25Z five\n"
    );
    assert_eq!(
        agent.get(&format!("{LOGS}?limitBytes=6")).await.1,
        "one\ntw"
    );
}

#[tokio::test]
async fn partial_entries_are_joined_into_one_line() {
    let agent = Agent::start().await;
    let log = agent
        .logs
        .start(&pod("web", "u1"), "app", 0)
        .expect("start");
    log.append([
        entry(1, true, "a very "),
        entry(2, true, "long "),
        entry(3, false, "line"),
        entry(4, true, "cut off"),
    ]);
    assert_eq!(
        agent.get(&format!("{LOGS}?timestamps=1")).await.1,
        "2023-11-14T22:13:21Z a very long line\n2023-11-14T22:13:24Z cut off"
    );
}

#[tokio::test]
async fn previous_reads_the_run_before_and_older_runs_are_deleted() {
    let agent = Agent::start().await;
    let key = pod("web", "u1");
    for restart in 0..3 {
        let log = agent.logs.start(&key, "app", restart).expect("start");
        log.append([entry(restart.into(), false, &format!("run {restart}"))]);
        agent.logs.finish(&key, "app");
    }
    assert_eq!(agent.get(LOGS).await.1, "run 2\n");
    assert_eq!(
        agent.get(&format!("{LOGS}?previous=true")).await.1,
        "run 1\n"
    );
    assert_eq!(agent.logs.last_run("u1", "app"), Some(2));
    let runs = std::fs::read_dir(agent._root.path().join("pods/default_web_u1/app"))
        .expect("runs")
        .count();
    assert_eq!(runs, 2, "only the current and previous runs are kept");

    let only_once = agent.logs.start(&key, "sidecar", 0).expect("start");
    only_once.append([entry(1, false, "hi")]);
    let (status, body) = agent
        .get("/containerLogs/default/web/sidecar?previous=true")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let status: Value = serde_json::from_str(&body).expect("Status JSON");
    assert_eq!(
        status["message"],
        r#"previous terminated container "sidecar" in pod "web" not found"#
    );
}

#[tokio::test]
async fn a_silent_run_makes_nothing_on_disk_yet_reads_and_follows_as_empty() {
    // Runs are files in the kubelet's layout: `<ns>_<pod>_<uid>/<container>/<restart>.log`.
    let agent = Agent::start().await;
    let key = pod("web", "u1");
    let first = agent.logs.start(&key, "app", 0).expect("start");
    first.append([entry(1, false, "first run")]);
    agent.logs.finish(&key, "app");
    // The second run writes nothing: no file is made for it...
    let _silent = agent.logs.start(&key, "app", 1).expect("start");
    let run_file = agent._root.path().join("pods/default_web_u1/app/1.log");
    assert!(
        !run_file.exists(),
        "a run makes its file with its first line"
    );
    // ...yet it is the current run, and the one before it the previous.
    assert_eq!(agent.get(LOGS).await, (StatusCode::OK, String::new()));
    assert_eq!(
        agent.get(&format!("{LOGS}?previous=true")).await.1,
        "first run\n"
    );
    // A follower of the silent run gets its first line when it comes.
    let response = agent.request(&format!("{LOGS}?follow=true")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    _silent.append([entry(2, false, "at last")]);
    let frame = tokio::time::timeout(WAIT, body.frame())
        .await
        .expect("a frame in time")
        .expect("a frame")
        .expect("frame");
    assert_eq!(frame.into_data().expect("data"), "at last\n");
    assert!(run_file.exists());

    // A pod whose only run never wrote: its logs read as empty, not as missing.
    let quiet = pod("quiet", "u2");
    let _quiet = agent.logs.start(&quiet, "app", 0).expect("start");
    assert!(!agent._root.path().join("pods/default_quiet_u2").exists());
    assert_eq!(
        agent.get("/containerLogs/default/quiet/app").await,
        (StatusCode::OK, String::new())
    );
}

#[tokio::test]
async fn follow_sends_existing_then_live_lines_and_ends_when_the_run_finishes() {
    let agent = Agent::start().await;
    let log = five_lines(&agent.logs);
    let response = agent
        .request(&format!("{LOGS}?follow=true&tailLines=1"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let mut body = response.into_body();
    let mut next = async || -> Option<String> {
        let frame = tokio::time::timeout(WAIT, body.frame())
            .await
            .expect("a frame in time")?
            .expect("frame");
        Some(String::from_utf8(frame.into_data().expect("data").to_vec()).expect("utf-8"))
    };
    assert_eq!(next().await.as_deref(), Some("five\n"));
    log.append([entry(6, false, "six")]);
    assert_eq!(next().await.as_deref(), Some("six\n"));
    log.append([entry(7, true, "half "), entry(8, false, "and half")]);
    assert_eq!(next().await.as_deref(), Some("half and half\n"));
    agent.logs.finish(&pod("web", "u1"), "app");
    assert_eq!(next().await, None, "the stream ends with the run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_loses_and_repeats_nothing_while_lines_pour_in() {
    const LINES: usize = 20_000;
    let agent = Agent::start().await;
    let key = pod("web", "u1");
    let log = agent.logs.start(&key, "app", 0).expect("start");
    let writer = {
        let (log, logs, key) = (log.clone(), agent.logs.clone(), key.clone());
        std::thread::spawn(move || {
            for i in 0..LINES {
                log.append([LogLine {
                    time: SystemTime::now(),
                    stream: LogStream::Stdout,
                    partial: false,
                    text: Bytes::from(i.to_string()),
                }]);
                if i == LINES / 100 {
                    // Let the follow request start while lines are still being written.
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            logs.finish(&key, "app");
        })
    };
    // Wait until some lines exist, so the read straddles the file and the live stream.
    while log.lines().expect("lines").is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (status, body) = agent.get(&format!("{LOGS}?follow=true")).await;
    writer.join().expect("writer");
    assert_eq!(status, StatusCode::OK);
    let numbers: Vec<usize> = body.lines().map(|l| l.parse().expect("a number")).collect();
    assert_eq!(numbers.len(), LINES, "every line exactly once");
    assert!(numbers.iter().enumerate().all(|(i, &n)| i == n), "in order");
}

#[tokio::test]
async fn unknown_pods_containers_and_bad_parameters_are_statuses() {
    let agent = Agent::start().await;
    five_lines(&agent.logs);
    let cases = [
        (
            "/containerLogs/default/web/nope",
            StatusCode::NOT_FOUND,
            r#"container "nope" in pod "web" is not available"#,
        ),
        (
            "/containerLogs/default/ghost/app",
            StatusCode::NOT_FOUND,
            r#"pod "ghost" cannot be found - no logs available"#,
        ),
        (
            "/containerLogs/other/web/app",
            StatusCode::NOT_FOUND,
            r#"pod "web" cannot be found - no logs available"#,
        ),
        (
            "/containerLogs/default/web/..",
            StatusCode::NOT_FOUND,
            r#"container ".." in pod "web" is not available"#,
        ),
        (
            "/containerLogs/default/web/app?tailLines=-1",
            StatusCode::BAD_REQUEST,
            "tailLines: Invalid value: -1: must be greater than or equal to 0",
        ),
        (
            "/containerLogs/default/web/app?sinceSeconds=1&sinceTime=2024-01-01T00:00:00Z",
            StatusCode::BAD_REQUEST,
            "at most one of sinceTime or sinceSeconds may be specified",
        ),
    ];
    for (path, code, message) in cases {
        let (status, body) = agent.get(path).await;
        assert_eq!(status, code, "{path}: {body}");
        let reply: Value = serde_json::from_str(&body).expect("a Status body");
        assert_eq!(reply["kind"], "Status", "{path}");
        assert_eq!(reply["code"], code.as_u16(), "{path}");
        assert_eq!(reply["message"], message, "{path}");
    }
    assert_eq!(agent.get("/healthz").await, (StatusCode::OK, "ok".into()));
}

#[tokio::test]
async fn a_name_reused_by_a_new_pod_reads_the_newest() {
    let agent = Agent::start().await;
    let old = agent.logs.start(&pod("web", "old"), "app", 0).expect("old");
    old.append([entry(1, false, "old pod")]);
    let new = agent.logs.start(&pod("web", "new"), "app", 0).expect("new");
    new.append([entry(2, false, "new pod")]);
    assert_eq!(agent.get(LOGS).await.1, "new pod\n");
    agent.logs.remove_pod("new");
    assert_eq!(agent.get(LOGS).await.1, "old pod\n");
}

#[tokio::test]
async fn logs_outlive_an_agent_restart_until_their_pod_is_removed() {
    let root = tempfile::tempdir().expect("tempdir");
    let before = LogRegistry::new(root.path().join("pods")).expect("registry");
    let key = pod("web", "u1");
    for restart in 0..2 {
        let log = before.start(&key, "app", restart).expect("start");
        log.append([entry(restart.into(), false, &format!("run {restart}"))]);
    }
    drop(before);

    let agent = Agent::start_in(root).await;
    assert_eq!(agent.logs.pods_on_disk(), [key]);
    assert_eq!(agent.logs.last_run("u1", "app"), Some(1));
    assert_eq!(agent.logs.last_run("u1", "other"), None);
    assert_eq!(agent.get(LOGS).await.1, "run 1\n");
    // Not running any more: follow returns what exists and ends.
    assert_eq!(agent.get(&format!("{LOGS}?follow=true")).await.1, "run 1\n");
    assert_eq!(agent.get(&format!("{LOGS}?previous=1")).await.1, "run 0\n");

    agent.logs.remove_pod("u1");
    assert!(agent.logs.pods_on_disk().is_empty());
    assert!(!Path::new(&agent._root.path().join("pods/default_web_u1")).exists());
    assert_eq!(agent.get(LOGS).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn shutdown_ends_follow_streams() {
    let agent = Agent::start().await;
    five_lines(&agent.logs);
    let response = agent.request(&format!("{LOGS}?follow=true")).await;
    let mut body = response.into_body();
    let first = tokio::time::timeout(WAIT, body.frame())
        .await
        .expect("a frame")
        .expect("not ended")
        .expect("frame");
    assert_eq!(
        first.into_data().expect("data"),
        "one\ntwo\nthree\nfour\nfive\n"
    );
    agent.shutdown.cancel();
    let rest = tokio::time::timeout(WAIT, body.collect())
        .await
        .expect("the stream ends at shutdown");
    assert!(rest.is_ok(), "{rest:?}");
}
