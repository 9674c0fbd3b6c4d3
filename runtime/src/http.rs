//! Serving HTTP with `wasi:http/proxy` components.
//!
//! Parts: [`handler`] ([`HttpHandler`](handler::HttpHandler): a fresh instance per
//! request, bounded concurrency and queue); [`serve`] (an HTTP/1.1 server for one
//! handler, used by `skiff run --listen`); [`outbound`] (the policy for requests the
//! guest makes).

pub mod handler;
pub mod outbound;
pub mod serve;
