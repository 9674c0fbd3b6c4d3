//! [`Server`]: a `skiff server` process on a free port with its own data directory, and
//! `kubectl` pointed at it (with a private discovery cache). Stopped on drop.

use crate::{WAIT, eventually};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// A running `skiff server`.
pub struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    data: PathBuf,
    /// Where it listens: a free port at first, then the same port on every restart, so
    /// that agents holding the kubeconfig find it again.
    listen: String,
    /// Extra flags given to every start (`Server::start_with`).
    extra: Vec<String>,
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server on a fresh data directory with extra flags (timings, ...).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let mut server = Self {
            child: None,
            dir,
            data,
            listen: "127.0.0.1:0".to_string(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.kubeconfig());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("server log");
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["server", "--listen", &self.listen, "--data-dir"])
            .arg(&self.data)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn skiff server");
        self.child = Some(child);
        self.listen = eventually("the kubeconfig", || {
            let text = std::fs::read_to_string(self.kubeconfig()).ok()?;
            let server = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("server:"))?;
            Some(
                server
                    .trim()
                    .split("://")
                    .nth(1)?
                    .trim_end_matches('/')
                    .to_string(),
            )
        });
        eventually("the API to answer", || {
            self.kubectl(&["get", "--raw", "/readyz"])
                .status
                .success()
                .then_some(())
        });
    }

    /// Stops the server (SIGTERM) and starts it again on the same data and port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts a stopped server again on the same data and port.
    pub fn resume(&mut self) {
        self.spawn();
    }

    /// Stops the server (SIGTERM), waiting for it to exit cleanly.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            crate::signal(child.id(), "TERM");
            let status = eventually("the server to stop", || child.try_wait().expect("wait"));
            assert_eq!(status.code(), Some(0), "server exit status");
        }
    }

    /// The server's log (its stderr, across restarts).
    pub fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data.join("kubeconfig")
    }

    /// The API's URL, as the kubeconfig names it.
    pub fn url(&self) -> String {
        let text = std::fs::read_to_string(self.kubeconfig()).expect("kubeconfig");
        text.lines()
            .find_map(|l| l.trim().strip_prefix("server:"))
            .expect("a server line")
            .trim()
            .to_string()
    }

    /// The server's data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// A scratch directory for manifests.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a manifest file and returns its path.
    pub fn manifest(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml).expect("write manifest");
        path
    }

    /// Runs kubectl against the server.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        crate::output(self.kubectl_command().args(args))
    }

    /// A kubectl command against the server, not yet run.
    pub fn kubectl_command(&self) -> Command {
        let mut cmd = Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(self.kubeconfig())
            .arg("--cache-dir")
            .arg(self.dir.path().join("kube-cache"))
            .arg("--request-timeout")
            .arg(format!("{}s", WAIT.as_secs()));
        cmd
    }

    /// Runs kubectl and returns its stdout, failing the test if it fails.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl expecting failure and returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            !out.status.success(),
            "kubectl {} should have failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Every test is also a check of the components' policy: none of them was refused
        // something its work needed.
        let log = std::fs::read_to_string(self.log()).unwrap_or_default();
        let refused: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("in-process write refused"))
            .collect();
        if !std::thread::panicking() {
            assert!(
                refused.is_empty(),
                "components were refused:\n{}",
                refused.join("\n")
            );
        }
    }
}

/// A running `skiff agent`: a node of a [`Server`]'s cluster, with its own data directory.
/// Killed on drop.
pub struct Agent {
    child: Option<Child>,
    name: String,
    ip: std::net::Ipv4Addr,
    kubeconfig: PathBuf,
    data: PathBuf,
    log: PathBuf,
    extra: Vec<String>,
}

impl Agent {
    /// Starts an agent for node `name` and waits until its node is registered.
    pub fn start(server: &Server, name: &str) -> Self {
        Self::start_with(server, name, &[])
    }

    /// [`Agent::start`] with extra `skiff agent` flags (e.g. `--max-pods`).
    pub fn start_with(server: &Server, name: &str, extra: &[&str]) -> Self {
        let data = server.dir().join("agents").join(name);
        std::fs::create_dir_all(&data).expect("agent data dir");
        let mut agent = Self {
            child: None,
            name: name.to_string(),
            ip: next_ip(),
            kubeconfig: server.kubeconfig(),
            log: data.with_extension("log"),
            data,
            extra: extra.iter().map(|a| a.to_string()).collect(),
        };
        agent.spawn();
        eventually("the node to register", || {
            server
                .kubectl(&["get", "node", name])
                .status
                .success()
                .then_some(())
        });
        agent
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("agent log");
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args([
                "agent",
                "--name",
                &self.name,
                "--listen",
                &format!("{}:0", self.ip),
            ])
            .args(["--lease-interval", "1s", "--restart-backoff", "300ms"])
            .args(&self.extra)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--data-dir")
            .arg(&self.data)
            .env("SKIFF_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn skiff agent");
        self.child = Some(child);
    }

    /// Kills the agent with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the agent again on the same data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The node's address: each agent has a loopback address of its own, so that the
    /// node ports of several agents on this machine do not collide.
    pub fn ip(&self) -> std::net::Ipv4Addr {
        self.ip
    }

    /// The agent's data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// What the agent has logged so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A loopback address no other agent of this test run has (127.1.0.2, 127.1.0.3, ...).
fn next_ip() -> std::net::Ipv4Addr {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::net::Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 2) as u8)
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}
