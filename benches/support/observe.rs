//! Looking at running processes from a benchmark: a process's CPU time (`/proc`), an
//! agent's endpoint address (from its Node), and following an agent's stats stream.

use futures::StreamExt;
use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use std::net::SocketAddr;
use std::time::Duration;

/// The CPU seconds (user + system) process `pid` has used.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which ends with the last ')').
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / USER_HZ
}

/// The unit of `/proc/PID/stat`'s times: Linux reports them in USER_HZ, 100 per second
/// whatever the kernel's own tick.
const USER_HZ: f64 = 100.0;

/// Process `pid`'s CPU use over `window`, in cores.
pub async fn cpu_rate(pid: u32, window: Duration) -> f64 {
    let before = cpu_seconds(pid);
    tokio::time::sleep(window).await;
    (cpu_seconds(pid) - before) / window.as_secs_f64()
}

/// The agent endpoint of node `name`, from its status.
pub async fn agent_endpoint(client: &kube::Client, name: &str) -> SocketAddr {
    let node = Api::<Node>::all(client.clone())
        .get(name)
        .await
        .expect("the node");
    let status = node.status.expect("node status");
    let port = status
        .daemon_endpoints
        .and_then(|d| d.kubelet_endpoint)
        .map(|e| e.port)
        .expect("the agent's port");
    let ip = status
        .addresses
        .unwrap_or_default()
        .into_iter()
        .find(|a| a.type_ == "InternalIP")
        .map(|a| a.address)
        .expect("the agent's address");
    format!("{ip}:{port}").parse().expect("an address")
}

/// Follows an agent's stats stream until aborted, reading every report.
pub async fn follow(endpoint: SocketAddr) {
    let stream = tokio::net::TcpStream::connect(endpoint)
        .await
        .expect("connect to the agent");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(connection);
    let request = http::Request::get(format!(
        "{}?{}=500",
        skiff_model::stats::STREAM_PATH,
        skiff_model::stats::INTERVAL_PARAM
    ))
    .header(http::header::HOST, endpoint.to_string())
    .body(http_body_util::Empty::<hyper::body::Bytes>::new())
    .expect("a request");
    let response = sender.send_request(request).await.expect("the stream");
    let mut body = response.into_body().into_data_stream();
    while let Some(Ok(_)) = body.next().await {}
}
