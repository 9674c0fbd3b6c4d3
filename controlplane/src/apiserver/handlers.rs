//! The handlers: one file per verb or subresource. [`resource`] dispatches every request
//! the router does not match by path, by verb, to [`read`] (get, list),
//! [`write`](mod@write) (create, update), [`delete`](mod@delete) (delete,
//! deletecollection), [`patch`] (the patch types and server-side apply), [`watch`],
//! [`scale`], [`binding`], [`log`] and [`token`] (TokenRequest), to [`activation`] (the create-only `activations` of
//! `autoscaling.skiff.dev`), to [`review`] (whoami, can-i and the other access reviews)
//! and to [`metrics`] (the `metrics.k8s.io` and
//! `custom.metrics.k8s.io` APIs); [`discovery`] and [`openapi`] describe the API;
//! [`modules`] serves the wasm module store (`/skiff/v1/modules/`).

pub mod activation;
pub mod binding;
pub mod delete;
pub mod discovery;
pub mod log;
pub mod metrics;
pub mod modules;
pub mod openapi;
pub mod patch;
pub mod read;
pub mod resource;
pub mod review;
pub mod scale;
pub mod token;
pub mod watch;
pub mod write;
