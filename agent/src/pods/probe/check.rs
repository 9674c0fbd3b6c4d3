//! [`Checker`]: carries out probe attempts for one container run, in process.
//!
//! `httpGet` sends a GET straight to the container's own [`HttpHandler`] (no socket):
//! the probe's port must be one the container serves, `Host` is the pod's address and
//! port (unless `httpHeaders` sets it), and 200–399 passes. `tcpSocket` passes while the
//! pod has a registered, non-draining server on the port. A command container serves
//! nothing, so both fail for it with a message saying so. Failures read like the
//! kubelet's (`HTTP probe failed with statuscode: 500`).

use super::hooks::Check;
use super::spec::{Action, Probe};
use crate::dataplane::local::LocalPods;
use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Empty};
use k8s_openapi::api::core::v1::Container;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use skiff_runtime::HttpHandler;

/// The `User-Agent` of probe requests, as the kubelet of the Kubernetes version Skiff
/// speaks sends it.
pub const PROBE_USER_AGENT: &str = "kube-probe/1.33";

/// Bytes of a probe response's body read before it is dropped (the kubelet's limit).
const MAX_BODY: usize = 10 * 1024;

/// What a container serves to its probes.
#[derive(Clone)]
pub enum Target {
    /// An HTTP component serving `ports` with `handler`.
    Http {
        /// The component's handler.
        handler: HttpHandler,
        /// The ports it is registered under.
        ports: Vec<u16>,
    },
    /// A command, which serves nothing.
    Command,
}

/// Carries out the probes of one container run.
pub struct Checker<'c> {
    /// What the container serves.
    pub target: Target,
    /// The container (its name and named ports), borrowed from the run: a pod's probing
    /// lives as long as the pod, and a copy of its container would too.
    pub container: &'c Container,
    /// The pod's namespace.
    pub namespace: String,
    /// The pod's name.
    pub pod: String,
    /// The pod's UID (a server registered by an older pod of the name does not count).
    pub uid: String,
    /// The pod's address, as probe URLs name it.
    pub host: String,
    /// The node's pod servers.
    pub local: LocalPods,
}

impl Check for Checker<'_> {
    fn run<'a>(&'a self, probe: &'a Probe) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match &probe.action {
                Action::HttpGet {
                    path,
                    port,
                    headers,
                } => self.http_get(path, port, headers).await,
                Action::TcpSocket { port } => self.tcp_socket(port),
                Action::Unsupported(why) => Err((*why).to_string()),
            }
        })
    }

    fn timed_out(&self, probe: &Probe) -> String {
        match &probe.action {
            Action::HttpGet { path, port, .. } => format!(
                "Get \"{}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                self.url(&port_text(port, self.container), path)
            ),
            Action::TcpSocket { port } => format!(
                "dial tcp {}:{}: i/o timeout",
                self.host,
                port_text(port, self.container)
            ),
            Action::Unsupported(why) => (*why).to_string(),
        }
    }
}

impl Checker<'_> {
    async fn http_get(
        &self,
        path: &str,
        port: &IntOrString,
        headers: &[(String, String)],
    ) -> Result<(), String> {
        let port = resolve(port, self.container)?;
        let url = self.url(&port.to_string(), path);
        let (handler, ports) = match &self.target {
            Target::Http { handler, ports } => (handler, ports),
            Target::Command => return Err(self.serves_nothing()),
        };
        if !ports.contains(&port) {
            return Err(format!(
                "Get \"{url}\": container {} does not serve port {port} (it serves {})",
                self.container.name,
                list(ports)
            ));
        }
        let mut request = http::Request::get(&url)
            .header(http::header::HOST, format!("{}:{port}", self.host))
            .header(http::header::USER_AGENT, PROBE_USER_AGENT)
            .header(http::header::ACCEPT, "*/*")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("Get \"{url}\": {e}"))?;
        for (name, value) in headers {
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid probe header name {name:?}"))?;
            let value = http::HeaderValue::from_str(value)
                .map_err(|_| format!("invalid value of probe header {name}"))?;
            request.headers_mut().insert(name, value);
        }
        let response = handler.handle(request).await;
        let status = response.status();
        // Read (a bounded part of) the body so the instance finishes its response.
        let mut body = response.into_body();
        let mut read = 0;
        while read < MAX_BODY {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, Bytes::len),
                _ => break,
            }
        }
        if (200..400).contains(&status.as_u16()) {
            Ok(())
        } else {
            Err(format!(
                "HTTP probe failed with statuscode: {}",
                status.as_u16()
            ))
        }
    }

    fn tcp_socket(&self, port: &IntOrString) -> Result<(), String> {
        let port = resolve(port, self.container)?;
        if matches!(self.target, Target::Command) {
            return Err(self.serves_nothing());
        }
        match self.local.lookup(&self.namespace, &self.pod, port) {
            Some(served) if served.uid == self.uid => Ok(()),
            _ => Err(format!(
                "dial tcp {}:{port}: connect: connection refused",
                self.host
            )),
        }
    }

    fn url(&self, port: &str, path: &str) -> String {
        format!("http://{}:{port}{path}", self.host)
    }

    fn serves_nothing(&self) -> String {
        format!(
            "container {} is a command and serves no port; httpGet and tcpSocket probes need a wasi:http component",
            self.container.name
        )
    }
}

/// The port number a probe names, by number or by `containerPort` name.
pub fn resolve(port: &IntOrString, container: &Container) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => {
            u16::try_from(*n).map_err(|_| format!("invalid probe port {n}: not in 1-65535"))
        }
        IntOrString::String(name) => {
            if let Ok(n) = name.parse::<u16>() {
                return Ok(n);
            }
            container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| {
                    format!(
                        "couldn't find port {name:?}: container {} has no containerPort named so",
                        container.name
                    )
                })
        }
    }
}

fn port_text(port: &IntOrString, container: &Container) -> String {
    match resolve(port, container) {
        Ok(n) => n.to_string(),
        Err(_) => match port {
            IntOrString::Int(n) => n.to_string(),
            IntOrString::String(s) => s.clone(),
        },
    }
}

fn list(ports: &[u16]) -> String {
    ports
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
