//! [`ApiServerArgs`]: the API server's own flags, shared by `skiff server` and `skiff up`
//! (kube-apiserver's and k3s' names and defaults): how much it works on at once, and how
//! it is secured — TLS names, static tokens, or (explicitly) no security at all.

use clap::Args;
use skiff_controlplane::apiserver::filters::inflight::{self, InFlight};
use std::path::PathBuf;

/// How much the API server works on at once, and how it is secured.
#[derive(Args, Debug, Clone)]
pub struct ApiServerArgs {
    /// Most non-mutating requests (get, list) worked on at once; more wait briefly, then are
    /// answered 429 with Retry-After. Watches and log streams are not counted. 0: no limit.
    #[arg(long, value_name = "N", default_value_t = inflight::DEFAULT_READS)]
    max_requests_inflight: usize,

    /// Most mutating requests (create, update, patch, delete) worked on at once; more wait
    /// briefly, then are answered 429 with Retry-After. 0: no limit.
    #[arg(long, value_name = "N", default_value_t = inflight::DEFAULT_WRITES)]
    max_mutating_requests_inflight: usize,

    /// Another DNS name or IP address clients may reach the API server by, added to its
    /// serving certificate (repeatable), as k3s' --tls-san.
    #[arg(long = "tls-san", value_name = "NAME|IP")]
    pub tls_san: Vec<String>,

    /// Static bearer tokens in Kubernetes' CSV format, one per line:
    /// token,user,uid,"group1,group2".
    #[arg(long, value_name = "FILE")]
    pub token_auth_file: Option<PathBuf>,

    /// Whether requests without credentials are served as `system:anonymous` (which the
    /// default policy lets read only /healthz, /livez, /readyz and /version) or refused
    /// with 401.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub anonymous_auth: bool,

    /// INSECURE: serve plain HTTP with no authentication and no authorization, so anyone
    /// who can reach the port is cluster-admin (kube-apiserver's old insecure port). Only
    /// for benchmarks and machines nobody else can reach.
    #[arg(long)]
    pub insecure_http: bool,
}

impl ApiServerArgs {
    /// The seats these flags give.
    pub fn inflight(&self) -> InFlight {
        InFlight::new(
            self.max_requests_inflight,
            self.max_mutating_requests_inflight,
        )
    }
}
