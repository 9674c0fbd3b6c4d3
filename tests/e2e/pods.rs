//! Pods on a node: `skiff server`, one `skiff agent`, and kubectl. Pods are bound to the
//! node by `spec.nodeName` (the scheduler is not part of these tests). Guests are the test
//! programs, named by `file://` images.

use crate::cluster::{Agent, Server};
use crate::eventually;
use skiff_test_programs as programs;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// A pod manifest for node-a running `image` with `args`, plus extra spec YAML.
fn pod(name: &str, image: &str, args: &[&str], extra: &str) -> String {
    let args = args
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeName: node-a
{extra}
  containers:
  - name: main
    image: file://{image}
    args: [{args}]
"
    )
}

fn jsonpath(server: &Server, pod: &str, path: &str) -> String {
    let out = server.kubectl(&["get", "pod", pod, "-o", &format!("jsonpath={path}")]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(server: &Server, agent: &Agent, pod: &str, path: &str, want: &str) {
    let what = format!("{pod} {path} = {want}");
    let start = std::time::Instant::now();
    loop {
        let got = jsonpath(server, pod, path);
        if got == want {
            return;
        }
        if start.elapsed() > crate::WAIT {
            panic!(
                "timed out waiting for {what}: last {got:?}\n--- pod:\n{}\n--- agent log:\n{}",
                server.ok(&["get", "pod", pod, "-o", "yaml"]),
                agent.log()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_pod_runs_a_command_to_success() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "ok.yaml",
        &pod(
            "ok",
            programs::P1_EXIT_CODE,
            &["0"],
            "  restartPolicy: Never",
        ),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "ok", "{.status.phase}", "Succeeded");
    let status = "{.status.containerStatuses[0]";
    assert_eq!(
        jsonpath(
            &server,
            "ok",
            &format!("{status}.state.terminated.exitCode}}")
        ),
        "0"
    );
    assert_eq!(
        jsonpath(
            &server,
            "ok",
            &format!("{status}.state.terminated.reason}}")
        ),
        "Completed"
    );
    assert!(jsonpath(&server, "ok", &format!("{status}.imageID}}")).starts_with("sha256:"));
    assert_eq!(
        jsonpath(&server, "ok", "{.status.hostIP}"),
        agent.ip().to_string()
    );
    assert!(!jsonpath(&server, "ok", "{.status.startTime}").is_empty());
    let logs = server.ok(&["logs", "ok"]);
    assert!(
        logs.contains("exiting with 0") && logs.contains("to stderr"),
        "{logs}"
    );
    let described = server.ok(&["describe", "pod", "ok"]);
    for story in ["Pulled", "Created", "Started", "Completed"] {
        assert!(
            described.contains(story),
            "describe lacks {story}:\n{described}"
        );
    }
}

#[test]
fn failing_containers_restart_with_backoff_or_stay_failed() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "failing.yaml",
        &[
            pod(
                "retry",
                programs::P1_EXIT_CODE,
                &["3"],
                "  restartPolicy: OnFailure",
            ),
            pod(
                "once",
                programs::P1_EXIT_CODE,
                &["3"],
                "  restartPolicy: Never",
            ),
        ]
        .join("---\n"),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);

    wait_for(&server, &agent, "once", "{.status.phase}", "Failed");
    let once = "{.status.containerStatuses[0]";
    assert_eq!(
        jsonpath(
            &server,
            "once",
            &format!("{once}.state.terminated.exitCode}}")
        ),
        "3"
    );
    assert_eq!(
        jsonpath(&server, "once", &format!("{once}.restartCount}}")),
        "0"
    );

    eventually("retry to crash-loop", || {
        let reason = jsonpath(
            &server,
            "retry",
            "{.status.containerStatuses[0].state.waiting.reason}",
        );
        let restarts: u32 = jsonpath(
            &server,
            "retry",
            "{.status.containerStatuses[0].restartCount}",
        )
        .parse()
        .unwrap_or(0);
        (reason == "CrashLoopBackOff" && restarts >= 2).then_some(())
    });
    assert_eq!(
        jsonpath(
            &server,
            "retry",
            "{.status.containerStatuses[0].lastState.terminated.exitCode}"
        ),
        "3"
    );
    assert_eq!(jsonpath(&server, "retry", "{.status.phase}"), "Running");
    let events = server.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=retry",
    ]);
    assert!(events.contains("BackOff"), "{events}");
    let previous = server.ok(&["logs", "retry", "--previous"]);
    assert!(previous.contains("exiting with 3"), "{previous}");
}

#[test]
fn env_and_volumes_reach_the_guest() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let image = programs::P1_SHOW;
    let manifest = server.manifest(
        "config.yaml",
        &format!(
            "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  greeting: hello
  COLOR: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  token: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: shown
spec:
  nodeName: node-a
  volumes:
  - name: config
    configMap:
      name: settings
  - name: creds
    secret:
      secretName: creds
  - name: scratch
    emptyDir: {{}}
  initContainers:
  - name: init
    image: file://{image}
    args: [\"/scratch/from-init=written-by-init\"]
    volumeMounts:
    - name: scratch
      mountPath: /scratch
  containers:
  - name: main
    image: file://{image}
    args: [\"--every\", \"200\", \"PLAIN\", \"EXPANDED\", \"GREETING\", \"TOKEN\", \"POD_NAME\", \"NODE\", \"COLOR\",
           \"/etc/config/greeting\", \"/etc/creds/token\", \"/scratch/from-init\", \"/etc/config/greeting.new=x\"]
    envFrom:
    - configMapRef:
        name: settings
    env:
    - name: PLAIN
      value: plain-value
    - name: EXPANDED
      value: $(PLAIN)-expanded
    - name: GREETING
      valueFrom:
        configMapKeyRef: {{name: settings, key: greeting}}
    - name: TOKEN
      valueFrom:
        secretKeyRef: {{name: creds, key: token}}
    - name: POD_NAME
      valueFrom:
        fieldRef: {{fieldPath: metadata.name}}
    - name: NODE
      valueFrom:
        fieldRef: {{fieldPath: spec.nodeName}}
    volumeMounts:
    - name: config
      mountPath: /etc/config
    - name: creds
      mountPath: /etc/creds
    - name: scratch
      mountPath: /scratch
"
        ),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "shown", "{.status.phase}", "Running");
    let init_logs = server.ok(&["logs", "shown", "-c", "init"]);
    assert!(
        init_logs.contains("wrote /scratch/from-init"),
        "{init_logs}"
    );
    let logs = eventually("a full round of output", || {
        let logs = server.ok(&["logs", "shown", "-c", "main"]);
        logs.contains("round 1").then_some(logs)
    });
    for line in [
        "PLAIN=plain-value",
        "EXPANDED=plain-value-expanded",
        "GREETING=hello",
        "TOKEN=s3cret",
        "POD_NAME=shown",
        "NODE=node-a",
        "COLOR=blue",
        "/etc/config/greeting=hello",
        "/etc/creds/token=s3cret",
        "/scratch/from-init=written-by-init",
    ] {
        assert!(
            logs.lines().any(|l| l == line),
            "missing {line:?} in:\n{logs}"
        );
    }
    assert!(
        logs.lines()
            .any(|l| l.starts_with("/etc/config/greeting.new!")),
        "a configMap volume is read-only:\n{logs}"
    );

    server.ok(&[
        "patch",
        "configmap",
        "settings",
        "-p",
        r#"{"data":{"greeting":"bonjour"}}"#,
    ]);
    eventually("the configMap volume to be updated", || {
        let logs = server.ok(&["logs", "shown", "-c", "main", "--tail", "20"]);
        logs.lines()
            .any(|l| l == "/etc/config/greeting=bonjour")
            .then_some(())
    });
}

#[test]
fn a_memory_bomb_ends_with_a_clear_reason() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "bomb.yaml",
        &pod(
            "bomb",
            programs::P1_MEMORY_BOMB,
            &[],
            "  restartPolicy: Never",
        )
        .replace(
            "    args: []\n",
            "    args: []\n    resources:\n      limits:\n        memory: 32Mi\n",
        ),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "bomb", "{.status.phase}", "Failed");
    let state = "{.status.containerStatuses[0].state.terminated";
    assert_eq!(
        jsonpath(&server, "bomb", &format!("{state}.reason}}")),
        "OOMKilled"
    );
    assert_eq!(
        jsonpath(&server, "bomb", &format!("{state}.exitCode}}")),
        "137"
    );
    let message = jsonpath(&server, "bomb", &format!("{state}.message}}"));
    assert!(
        message.contains("memory limit of 33554432 bytes"),
        "{message}"
    );
    let described = server.ok(&["describe", "pod", "bomb"]);
    assert!(described.contains("OOMKilled"), "{described}");
}

#[test]
fn deleting_a_pod_stops_an_infinite_loop() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "spin.yaml",
        &pod(
            "spin",
            programs::P1_SPIN,
            &[],
            "  terminationGracePeriodSeconds: 2",
        ),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "spin", "{.status.phase}", "Running");
    // kubectl waits until the object is gone, which the agent confirms only once the
    // instance has stopped.
    server.ok(&["delete", "pod", "spin", "--wait=true"]);
    let left = server.kubectl(&["get", "pod", "spin"]);
    assert!(!left.status.success(), "the pod is gone");
    let events = server.ok(&[
        "get",
        "events",
        "--field-selector",
        "involvedObject.name=spin",
    ]);
    assert!(events.contains("Killing"), "{events}");
    eventually("the pod's files to be removed", || {
        let pods = std::fs::read_dir(agent.data().join("pods")).map_or(0, |d| d.count());
        (pods == 0).then_some(())
    });
}

#[test]
fn an_active_deadline_ends_a_pod() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "deadline.yaml",
        &pod(
            "late",
            programs::P1_SLEEP,
            &[],
            "  activeDeadlineSeconds: 1\n  terminationGracePeriodSeconds: 0",
        ),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "late", "{.status.phase}", "Failed");
    assert_eq!(
        jsonpath(&server, "late", "{.status.reason}"),
        "DeadlineExceeded"
    );
}

#[test]
fn a_missing_image_shows_why() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "missing.yaml",
        &pod("missing", "/nonexistent/app.wasm", &[], ""),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    eventually("the pull failure to show", || {
        let reason = jsonpath(
            &server,
            "missing",
            "{.status.containerStatuses[0].state.waiting.reason}",
        );
        matches!(reason.as_str(), "ErrImagePull" | "ImagePullBackOff").then_some(())
    });
    let message = jsonpath(
        &server,
        "missing",
        "{.status.containerStatuses[0].state.waiting.message}",
    );
    assert!(message.contains("/nonexistent/app.wasm"), "{message}");
    let _ = agent;
}

#[test]
fn logs_follow_live_output() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: ticker
spec:
  replicas: 0
  selector:
    matchLabels: {app: ticker}
  template:
    metadata:
      labels: {app: ticker}
    spec:
      containers:
      - name: main
        image: file:///ticker.wasm
";
    let ticker = pod("ticker", programs::P1_SHOW, &["--every", "100", "POD"], "").replace(
        "  name: ticker\n",
        "  name: ticker\n  labels: {app: ticker}\n",
    );
    let manifest = server.manifest("ticker.yaml", &format!("{ticker}---\n{deployment}"));
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "ticker", "{.status.phase}", "Running");
    let mut follow = server
        .kubectl_command()
        .args(["logs", "-f", "ticker"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl logs -f");
    let stdout = follow.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    // Lines keep arriving while kubectl follows: five rounds after the first it saw.
    let deadline = std::time::Instant::now() + crate::WAIT;
    let mut first: Option<u64> = None;
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|_| panic!("kubectl logs -f stopped short (first round {first:?})"));
        let Some(round) = line
            .strip_prefix("round ")
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        match first {
            None => first = Some(round),
            Some(f) if round >= f + 5 => break,
            Some(_) => {}
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();

    // kubectl finds a Deployment's pod by its selector.
    let by_owner = server.ok(&["logs", "deploy/ticker", "--tail", "3"]);
    assert!(by_owner.contains("POD="), "{by_owner}");

    let stamped = server.ok(&["logs", "ticker", "--timestamps", "--tail", "2"]);
    let lines: Vec<&str> = stamped.lines().collect();
    assert_eq!(lines.len(), 2, "{stamped}");
    for line in lines {
        let (time, _) = line.split_once(' ').expect("timestamp, then text");
        assert!(time.contains('T') && time.ends_with('Z'), "{line}");
    }
}

#[test]
fn a_killed_agent_readopts_its_pods() {
    let server = Server::start();
    let mut agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "long.yaml",
        &(0..3)
            .map(|i| {
                pod(
                    &format!("long-{i}"),
                    programs::P1_SHOW,
                    &["--every", "100", "POD"],
                    "",
                )
            })
            .collect::<Vec<_>>()
            .join("---\n"),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    for i in 0..3 {
        wait_for(
            &server,
            &agent,
            &format!("long-{i}"),
            "{.status.phase}",
            "Running",
        );
    }
    let doomed = server.manifest(
        "doomed.yaml",
        &pod(
            "doomed",
            programs::P1_SHOW,
            &["--every", "100", "POD"],
            "  terminationGracePeriodSeconds: 0",
        ),
    );
    server.ok(&["apply", "-f", doomed.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "doomed", "{.status.phase}", "Running");
    let doomed_uid = jsonpath(&server, "doomed", "{.metadata.uid}");

    agent.kill();
    // Deleted while its node is down: nothing confirms it, so force it, as an admin would.
    server.ok(&["delete", "pod", "doomed", "--grace-period=0", "--force"]);
    agent.restart();

    for i in 0..3 {
        let name = format!("long-{i}");
        wait_for(
            &server,
            &agent,
            &name,
            "{.status.containerStatuses[0].restartCount}",
            "1",
        );
        wait_for(&server, &agent, &name, "{.status.phase}", "Running");
        assert_eq!(
            jsonpath(
                &server,
                &name,
                "{.status.containerStatuses[0].lastState.terminated.reason}"
            ),
            "Unknown"
        );
        // One instance per pod: its current log has a single first round.
        let logs = eventually("a few rounds", || {
            let logs = server.ok(&["logs", &name]);
            logs.contains("round 3").then_some(logs)
        });
        let firsts = logs.lines().filter(|l| *l == "round 0").count();
        assert_eq!(firsts, 1, "one instance of {name}:\n{logs}");
        let previous = server.ok(&["logs", &name, "--previous"]);
        assert!(previous.contains("round 0"), "{previous}");
    }
    eventually("the deleted pod's files to be removed", || {
        let left = agent.data().join("pods").join(&doomed_uid).exists();
        (!left).then_some(())
    });
}

#[test]
fn pods_keep_running_while_the_api_server_is_down() {
    let mut server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "outage.yaml",
        &[
            pod("steady", programs::P1_SHOW, &["--every", "100", "POD"], ""),
            pod(
                "short",
                programs::P1_SLEEP,
                &["3000"],
                "  restartPolicy: Never",
            ),
        ]
        .join("---\n"),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &agent, "steady", "{.status.phase}", "Running");
    wait_for(&server, &agent, "short", "{.status.phase}", "Running");

    server.stop();
    // Long enough for `short` to finish while nobody can be told.
    std::thread::sleep(std::time::Duration::from_secs(4));
    server.resume();

    // What happened during the outage reaches the API once it is back...
    wait_for(&server, &agent, "short", "{.status.phase}", "Succeeded");
    // ...and what kept running was not restarted.
    assert_eq!(
        jsonpath(
            &server,
            "steady",
            "{.status.containerStatuses[0].restartCount}"
        ),
        "0"
    );
    assert_eq!(jsonpath(&server, "steady", "{.status.phase}"), "Running");
    let logs = server.ok(&["logs", "steady", "--tail", "1"]);
    assert!(!logs.is_empty());
    // The agent follows the API again: a deletion is carried out.
    server.ok(&["delete", "pod", "steady", "--wait=true"]);
}

#[test]
fn pods_run_on_the_node_they_are_bound_to() {
    let server = Server::start();
    let a = Agent::start(&server, "node-a");
    let b = Agent::start(&server, "node-b");
    let manifest = server.manifest(
        "two.yaml",
        &[
            pod("on-a", programs::P1_SHOW, &["--every", "100", "POD_NODE"], ""),
            pod("on-b", programs::P1_SHOW, &["--every", "100", "POD_NODE"], "")
                .replace("nodeName: node-a", "nodeName: node-b"),
        ]
        .join("---\n")
        .replace(
            "    args: [",
            "    env:\n    - name: POD_NODE\n      valueFrom:\n        fieldRef: {fieldPath: spec.nodeName}\n    args: [",
        ),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(&server, &a, "on-a", "{.status.phase}", "Running");
    wait_for(&server, &b, "on-b", "{.status.phase}", "Running");
    // Each pod's logs come from its own node's agent.
    for (pod, node) in [("on-a", "node-a"), ("on-b", "node-b")] {
        let logs = eventually("output", || {
            let logs = server.ok(&["logs", pod, "--tail", "1"]);
            logs.starts_with("POD_NODE=").then_some(logs)
        });
        assert_eq!(logs.trim(), format!("POD_NODE={node}"));
    }
    let uid_a = jsonpath(&server, "on-a", "{.metadata.uid}");
    assert!(
        a.data()
            .join("logs")
            .read_dir()
            .expect("logs")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(&uid_a))
    );
    assert!(
        !b.data()
            .join("logs")
            .read_dir()
            .expect("logs")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(&uid_a))
    );
}

#[test]
fn a_module_that_cannot_load_says_why() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    let manifest = server.manifest(
        "import.yaml",
        &pod("needs-import", programs::P1_UNKNOWN_IMPORT, &[], ""),
    );
    server.ok(&["apply", "-f", manifest.to_str().expect("utf-8")]);
    wait_for(
        &server,
        &agent,
        "needs-import",
        "{.status.containerStatuses[0].state.waiting.reason}",
        "CreateContainerError",
    );
    let message = jsonpath(
        &server,
        "needs-import",
        "{.status.containerStatuses[0].state.waiting.message}",
    );
    assert!(message.contains("import"), "{message}");
    let events = eventually("the Failed event", || {
        let events = server.ok(&[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=needs-import",
        ]);
        events.contains("Failed").then_some(events)
    });
    assert!(events.contains("import"), "{events}");
}
