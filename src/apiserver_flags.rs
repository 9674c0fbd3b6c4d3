//! [`ApiServerArgs`]: the API server's own flags, shared by `skiff server` and `skiff up`
//! (kube-apiserver's names and defaults).

use clap::Args;
use skiff_controlplane::apiserver::filters::inflight::{self, InFlight};

/// How much the API server works on at once.
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
