//! The Kubernetes model Skiff's control plane and agent share: the vocabulary both speak,
//! with no wasm and no HTTP server in it (as k8s.io/apimachinery is to Kubernetes).
//!
//! Parts:
//! - [`quantity`]: resource quantities (`64Mi`, `500m`), read exactly.
//! - [`selector`]: label and field selectors.
//! - [`goduration`]: durations in Go's syntax (`1m30s`), as Kubernetes and Knative write
//!   them in annotations and messages.
//! - [`time`]: the clock as Kubernetes writes it (`Time`, `MicroTime`, RFC 3339 text).
//! - [`kinds`]: the table of resource types served, with their names, scope and storage
//!   keys.
//! - [`namespaces`]: the namespaces every cluster has; [`labels`]: well-known labels.
//! - [`meta`]: an object's `metadata`, read and written as JSON for objects of any kind;
//!   [`field`]: what is wrong with a field, by its path (validation errors).
//! - [`events`]: the event recorder every component writes its Events with.
//! - [`status`]: the `Status` body failures are answered with.
//! - [`activation`]: `Activation`, how an agent holding requests for a Service at zero
//!   wakes the autoscaler.
//! - [`stats`]: the wire format of an agent's stats stream (resource use and request
//!   counters) to the control plane.

pub mod activation;
pub mod events;
pub mod field;
pub mod goduration;
pub mod kinds;
pub mod labels;
pub mod meta;
pub mod namespaces;
pub mod quantity;
pub mod selector;
pub mod stats;
pub mod status;
pub mod time;
