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
}

impl Server {
    /// Starts a server on a fresh data directory.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let mut server = Self {
            child: None,
            dir,
            data,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let _ = std::fs::remove_file(self.kubeconfig());
        let child = Command::new(env!("CARGO_BIN_EXE_skiff"))
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&self.data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn skiff server");
        self.child = Some(child);
        eventually("the kubeconfig", || {
            self.kubeconfig().exists().then_some(())
        });
        eventually("the API to answer", || {
            self.kubectl(&["get", "--raw", "/readyz"])
                .status
                .success()
                .then_some(())
        });
    }

    /// Stops the server (SIGTERM) and starts it again on the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            crate::signal(child.id(), "TERM");
            let status = eventually("the server to stop", || child.try_wait().expect("wait"));
            assert_eq!(status.code(), Some(0), "server exit status");
        }
    }

    /// The admin kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data.join("kubeconfig")
    }

    /// A scratch directory for manifests.
    #[allow(dead_code, reason = "kept for manifests that reference sibling files")]
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
    }
}
