//! `skiff agent` against `skiff server`: the node registers, reports Ready with its
//! capacity, renews its lease, and stops cleanly.

use crate::cluster::Server;
use crate::{eventually, signal};
use std::process::{Command, Stdio};

#[test]
fn an_agent_registers_a_ready_node_and_keeps_its_lease() {
    let server = Server::start();
    let mut agent = Command::new(env!("CARGO_BIN_EXE_skiff"))
        .args([
            "agent",
            "--name",
            "node-a",
            "--lease-interval",
            "200ms",
            "--kubeconfig",
        ])
        .arg(server.kubeconfig())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn skiff agent");

    eventually("node-a to be Ready", || {
        let out = server.kubectl(&["get", "nodes", "--no-headers"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .any(|l| l.starts_with("node-a ") && l.split_whitespace().nth(1) == Some("Ready"))
            .then_some(())
    });
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(
        server.ok(&[
            "get",
            "node",
            "node-a",
            "-o",
            "jsonpath={.status.capacity.cpu}"
        ]),
        cpus.to_string()
    );
    assert_eq!(
        server.ok(&[
            "get",
            "lease",
            "node-a",
            "-n",
            "kube-node-lease",
            "-o",
            "jsonpath={.spec.holderIdentity}"
        ]),
        "node-a"
    );
    let first = server.ok(&[
        "get",
        "lease",
        "node-a",
        "-n",
        "kube-node-lease",
        "-o",
        "jsonpath={.spec.renewTime}",
    ]);
    eventually("the lease to be renewed", || {
        let now = server.ok(&[
            "get",
            "lease",
            "node-a",
            "-n",
            "kube-node-lease",
            "-o",
            "jsonpath={.spec.renewTime}",
        ]);
        (now != first).then_some(())
    });
    let described = server.ok(&["describe", "node", "node-a"]);
    assert!(
        described.contains("KubeletReady") && described.contains("wasm32"),
        "{described}"
    );

    signal(agent.id(), "TERM");
    let status = eventually("the agent to stop", || agent.try_wait().expect("wait"));
    assert_eq!(status.code(), Some(0));
}
