//! `skiff up` and `skiff apply`: manifests whose images are local wasm files (`./x.wasm`)
//! run as pods — the module is uploaded to the API server's module store and the image
//! rewritten to `skiff://modules/<file-name>@sha256:<hex>` — a stopped `skiff up` comes back
//! as it was on its data directory, and bad input fails with one line and exit status 1.
//!
//! [`Up`] is a `skiff up` process on a temporary directory (manifests and modules are written
//! there too) with kubectl pointed at it. Pods set `spec.nodeName` themselves.

use crate::cluster::{Agent, Server};
use crate::{WAIT, eventually, output, signal, skiff};
use skiff_test_programs as programs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The node name every `skiff up` here is given.
const NODE: &str = "node-up";

/// A running `skiff up`. Killed on drop.
pub struct Up {
    child: Option<Child>,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl Up {
    /// A fresh directory for the cluster's data, manifests and modules; nothing started.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("up.log");
        Self {
            child: None,
            dir,
            log,
        }
    }

    /// The scratch directory manifests and modules are written to.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The cluster's data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The admin kubeconfig `skiff up` writes.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data().join("kubeconfig")
    }

    /// Writes a file under the scratch directory and returns its path.
    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        write(self.dir(), name, contents)
    }

    /// The `skiff up` command for the data directory, on a free port, not yet started.
    fn command(&self, manifests: &[&Path]) -> Command {
        let mut cmd = skiff(&self.dir().join("cache"));
        cmd.args(["up", "--listen", "127.0.0.1:0", "--node-name", NODE])
            .args(["--lease-interval", "1s", "--restart-backoff", "300ms"])
            .arg("--data-dir")
            .arg(self.data());
        for manifest in manifests {
            cmd.arg("-f").arg(manifest);
        }
        cmd
    }

    /// Starts `skiff up` with `manifests` and waits until it says the cluster is ready.
    pub fn start(&mut self, manifests: &[&Path]) {
        self.start_with(manifests, &[]);
    }

    /// Starts `skiff up` with `manifests` and `extra` flags and waits until it says the
    /// cluster is ready.
    pub fn start_with(&mut self, manifests: &[&Path], extra: &[&str]) {
        let log = std::fs::File::create(&self.log).expect("log file");
        let child = self
            .command(manifests)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn skiff up");
        self.child = Some(child);
        eventually("skiff up to say the cluster is ready", || {
            if let Some(status) = self.child.as_mut()?.try_wait().expect("wait") {
                panic!("skiff up exited with {status}:\n{}", self.log());
            }
            self.log().contains("Cluster ready").then_some(())
        });
    }

    /// Stops `skiff up` with SIGTERM and checks that it exits 0.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "TERM");
            let status = eventually("skiff up to stop", || child.try_wait().expect("wait"));
            assert_eq!(status.code(), Some(0), "exit status; log:\n{}", self.log());
        }
    }

    /// What `skiff up` printed on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs kubectl against the cluster.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        output(
            Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(self.kubeconfig())
                .arg("--cache-dir")
                .arg(self.dir().join("kube-cache"))
                .arg("--request-timeout")
                .arg(format!("{}s", WAIT.as_secs()))
                .args(args),
        )
    }

    /// Runs kubectl and returns its stdout, failing the test if it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}\n--- skiff up:\n{}",
            args.join(" "),
            text(&out.stderr),
            self.log()
        );
        text(&out.stdout)
    }

    /// A pod's field, by kubectl jsonpath.
    fn jsonpath(&self, pod: &str, path: &str) -> String {
        let out = self.kubectl(&["get", "pod", pod, "-o", &format!("jsonpath={path}")]);
        text(&out.stdout)
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(&path, contents).expect("write");
    path
}

/// A pod on `node` whose one container runs `image` with `args`.
fn pod(name: &str, node: &str, image: &str, args: &[&str], restart: &str) -> String {
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
  nodeName: {node}
  restartPolicy: {restart}
  containers:
  - name: main
    image: {image}
    args: [{args}]
"
    )
}

/// Polls a pod field until it equals `want`; on timeout, fails showing the pod.
fn wait_for(what: &str, get: impl Fn() -> String, want: &str, show: impl Fn() -> String) {
    let start = std::time::Instant::now();
    loop {
        let got = get();
        if got == want {
            return;
        }
        if start.elapsed() > WAIT {
            panic!(
                "timed out waiting for {what} = {want}: last {got:?}\n{}",
                show()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The `sha256:<hex>` pin of a `skiff://modules/` image, checking its form.
fn module_digest(image: &str, file_name: &str) -> String {
    let prefix = format!("skiff://modules/{file_name}@");
    let digest = image
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{image:?} is not {prefix}<digest>"));
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{image}"
    );
    digest.to_owned()
}

#[test]
fn up_runs_a_pod_whose_image_is_a_relative_path() {
    let mut up = Up::new();
    up.write("app/x.wasm", &programs::read(programs::P1_EXIT_CODE));
    let manifest = up.write(
        "app/pod.yaml",
        pod("ok", NODE, "./x.wasm", &["0"], "Never").as_bytes(),
    );
    up.start(&[&manifest]);
    let log = up.log();
    for line in [
        "opened",
        "API server listening on https://127.0.0.1:",
        &format!("node {NODE} registered and Ready"),
        "pod/ok serverside-applied",
        "export KUBECONFIG=",
    ] {
        assert!(log.contains(line), "{line:?} not in:\n{log}");
    }

    wait_for(
        "ok's phase",
        || up.jsonpath("ok", "{.status.phase}"),
        "Succeeded",
        || up.ok(&["get", "pod", "ok", "-o", "yaml"]),
    );
    let image = up.jsonpath("ok", "{.spec.containers[0].image}");
    let digest = module_digest(&image, "x.wasm");
    // The node fetched it from the module store and verified the pin.
    assert_eq!(
        up.jsonpath("ok", "{.status.containerStatuses[0].imageID}"),
        digest
    );
    assert_eq!(
        up.jsonpath("ok", "{.spec.containers[0].imagePullPolicy}"),
        "IfNotPresent"
    );
    assert!(up.ok(&["logs", "ok"]).contains("exiting with 0"));
    let wide = up.ok(&["get", "pods", "-o", "wide"]);
    assert!(wide.contains("ok") && wide.contains(NODE), "{wide}");
    // The module store holds it under its digest.
    let hex = digest.trim_start_matches("sha256:");
    assert!(up.data().join("modules/sha256").join(hex).is_file());
    up.stop();
}

#[test]
fn apply_uploads_a_relative_module_to_a_server_cluster() {
    let server = Server::start();
    let agent = Agent::start(&server, "node-a");
    write(
        server.dir(),
        "bin/x.wasm",
        &programs::read(programs::P1_EXIT_CODE),
    );
    let manifest = server.manifest(
        "apply.yaml",
        &[
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n"
                .to_owned(),
            pod("from-apply", "node-a", "./bin/x.wasm", &["0"], "Never"),
        ]
        .join("---\n"),
    );
    let apply = || {
        output(
            skiff(&server.dir().join("cache"))
                .args(["apply", "--kubeconfig"])
                .arg(server.kubeconfig())
                .arg("-f")
                .arg(&manifest),
        )
    };
    let out = apply();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "configmap/settings serverside-applied\npod/from-apply serverside-applied\n"
    );
    let jsonpath = |path: &str| {
        text(
            &server
                .kubectl(&[
                    "get",
                    "pod",
                    "from-apply",
                    "-o",
                    &format!("jsonpath={path}"),
                ])
                .stdout,
        )
    };
    wait_for(
        "from-apply's phase",
        || jsonpath("{.status.phase}"),
        "Succeeded",
        || {
            format!(
                "{}\n--- agent:\n{}",
                server.ok(&["get", "pod", "from-apply", "-o", "yaml"]),
                agent.log()
            )
        },
    );
    let image = jsonpath("{.spec.containers[0].image}");
    let digest = module_digest(&image, "x.wasm");
    assert_eq!(jsonpath("{.status.containerStatuses[0].imageID}"), digest);

    // Applying again changes nothing and succeeds (the module is already there).
    let uid = jsonpath("{.metadata.uid}");
    let again = apply();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(jsonpath("{.metadata.uid}"), uid);
    assert_eq!(jsonpath("{.spec.containers[0].image}"), image);
}

#[test]
fn up_stopped_and_started_again_brings_the_cluster_back() {
    let mut up = Up::new();
    up.write("x.wasm", &programs::read(programs::P1_SLEEP));
    let manifest = up.write(
        "sleeper.yaml",
        pod("sleeper", NODE, "./x.wasm", &[], "Always").as_bytes(),
    );
    up.start(&[&manifest]);
    wait_for(
        "sleeper's phase",
        || up.jsonpath("sleeper", "{.status.phase}"),
        "Running",
        || up.ok(&["get", "pod", "sleeper", "-o", "yaml"]),
    );
    let uid = up.jsonpath("sleeper", "{.metadata.uid}");
    let started = up.jsonpath(
        "sleeper",
        "{.status.containerStatuses[0].state.running.startedAt}",
    );
    assert!(!started.is_empty());
    // Created by hand: not in the manifests, so only the store can bring it back.
    up.ok(&["create", "configmap", "kept", "--from-literal=a=b"]);

    up.stop();
    // Heartbeats are to the second: make the next start's observably later.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    up.start(&[&manifest]);
    let log = up.log();
    assert!(
        log.contains(&format!("node {NODE} registered and Ready")),
        "{log}"
    );
    let ready = up.ok(&[
        "get",
        "node",
        NODE,
        "-o",
        "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
    ]);
    assert_eq!(ready, "True");
    assert_eq!(
        up.ok(&["get", "configmap", "kept", "-o", "jsonpath={.data.a}"]),
        "b"
    );
    // The same pod (re-applying the manifest did not replace it), running again.
    assert_eq!(up.jsonpath("sleeper", "{.metadata.uid}"), uid);
    eventually("sleeper to run again", || {
        let now = up.jsonpath(
            "sleeper",
            "{.status.containerStatuses[0].state.running.startedAt}",
        );
        (!now.is_empty() && now != started).then_some(())
    });
    wait_for(
        "sleeper's phase",
        || up.jsonpath("sleeper", "{.status.phase}"),
        "Running",
        || up.ok(&["get", "pod", "sleeper", "-o", "yaml"]),
    );
    up.stop();
}

#[test]
fn bad_input_fails_with_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    let one_line = |out: &Output| {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("skiff: "), "{stderr}");
        stderr
    };

    let missing = dir.path().join("missing.yaml");
    let out = output(skiff(&cache).arg("apply").arg("-f").arg(&missing));
    let stderr = one_line(&out);
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");

    let manifest = write(
        dir.path(),
        "absent.yaml",
        pod("p", NODE, "./absent.wasm", &[], "Never").as_bytes(),
    );
    let absent = dir.path().join("absent.wasm").display().to_string();
    // Refused before any server is contacted (there is none).
    let out = output(skiff(&cache).arg("apply").arg("-f").arg(&manifest));
    let stderr = one_line(&out);
    for part in [
        "absent.yaml",
        "container \"main\"",
        &absent,
        "does not exist",
    ] {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }

    // `skiff up` refuses it before starting anything.
    let data = dir.path().join("data");
    let out = output(
        skiff(&cache)
            .args(["up", "--listen", "127.0.0.1:0", "--node-name", NODE])
            .arg("--data-dir")
            .arg(&data)
            .arg("-f")
            .arg(&manifest),
    );
    let stderr = one_line(&out);
    assert!(stderr.contains(&absent), "{stderr}");
    assert!(!data.exists(), "skiff up created its data directory");

    // A port in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address").to_string();
    let out = output(
        skiff(&cache)
            .args(["up", "--listen", &addr, "--node-name", NODE])
            .arg("--data-dir")
            .arg(&data),
    );
    let stderr = one_line(&out);
    assert!(stderr.contains(&addr), "{stderr}");
}

#[test]
fn the_http_quick_start_answers_curl() {
    // The README's quick start, on an address of its own so that its node port is free.
    let mut up = Up::new();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/http-hello.yaml");
    up.start_with(&[&manifest], &["--agent-listen", "127.1.200.1:0"]);
    let url = "http://127.1.200.1:30080/hello";
    let answer = eventually("the http-hello Service to answer", || {
        let out = output(Command::new("curl").args(["-sS", "-f", url]));
        out.status.success().then(|| text(&out.stdout))
    });
    assert_eq!(answer, "Hello from Skiff! You asked for GET /hello\n");
    let described = up.ok(&["get", "service", "http-hello"]);
    assert!(described.contains("80:30080/TCP"), "{described}");
}
